"""The GoRules ZEN expression language in pure Python, exact to zen-engine.

Parse a standard expression or a unary test (decision-table cell) into a frozen syntax tree,
evaluate it row by row, or turn the vectorizable subset into a Polars expression. See
docs/zen-language.md for what is supported and the few constructs refused.
"""

from repayguard.core.zen import ast
from repayguard.core.zen.ast import Node
from repayguard.core.zen.compiled import Expression, UnaryTest, compile_expression, compile_unary
from repayguard.core.zen.errors import ZenError, ZenEvaluationError, ZenSyntaxError, ZenUnsupported
from repayguard.core.zen.functions import CLOCK_FUNCTIONS
from repayguard.core.zen.parser import parse_expression, parse_unary
from repayguard.core.zen.tree import referenced_paths
from repayguard.core.zen.values import Value, to_host, to_value
from repayguard.core.zen.vectorized import to_polars

__all__ = [
    "CLOCK_FUNCTIONS",
    "Expression",
    "Node",
    "UnaryTest",
    "Value",
    "ZenError",
    "ZenEvaluationError",
    "ZenSyntaxError",
    "ZenUnsupported",
    "ast",
    "compile_expression",
    "compile_unary",
    "parse_expression",
    "parse_unary",
    "referenced_paths",
    "to_host",
    "to_polars",
    "to_value",
]
