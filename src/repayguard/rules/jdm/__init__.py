"""GoRules JDM decision graphs: import (all or nothing), evaluation row-wise and in batch,
the stored YAML form, and export back to JDM. See docs/jdm.md."""

from __future__ import annotations

from repayguard.rules.jdm.batch import evaluate_frame
from repayguard.rules.jdm.document import (
    GraphDocument,
    canonical_hash,
    dump_document,
    graph_to_jdm,
    is_graph_document,
)
from repayguard.rules.jdm.errors import GraphEvaluationError, GraphRefused, Refusal
from repayguard.rules.jdm.importer import ImportedGraph, import_graph
from repayguard.rules.jdm.model import JdmGraph
from repayguard.rules.jdm.reader import parse_graph
from repayguard.rules.jdm.rowwise import evaluate
from repayguard.rules.jdm.stored import load_graph_document

__all__ = [
    "GraphDocument",
    "GraphEvaluationError",
    "GraphRefused",
    "ImportedGraph",
    "JdmGraph",
    "Refusal",
    "canonical_hash",
    "dump_document",
    "evaluate",
    "evaluate_frame",
    "graph_to_jdm",
    "import_graph",
    "is_graph_document",
    "load_graph_document",
    "parse_graph",
]
