"""The rules engine beside the decision core: the ZEN expression language (``rules.zen``) and
the JDM decision-graph engine (``rules.jdm``) that imports GoRules graphs and evaluates them
exactly as zen-engine does.

It is a library of its own: it imports nothing else of repayguard (an import contract holds
that), and the decision core does not depend on it. The JDM import (``repayguard policy jdm``)
is its one user inside the product.
"""
