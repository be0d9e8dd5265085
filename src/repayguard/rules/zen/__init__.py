"""The GoRules ZEN expression language in pure Python, exact to zen-engine.

Parse a standard expression or a unary test (decision-table cell) into a frozen syntax tree,
evaluate it row by row, or turn the vectorizable subset into a Polars expression. See
docs/zen-language.md for what is supported and the few constructs refused.
"""

from repayguard.rules.zen import ast
from repayguard.rules.zen.ast import Node
from repayguard.rules.zen.compiled import Expression, UnaryTest, compile_expression, compile_unary
from repayguard.rules.zen.errors import ZenError, ZenEvaluationError, ZenSyntaxError, ZenUnsupported
from repayguard.rules.zen.floats import float_range, threshold
from repayguard.rules.zen.functions import CLOCK_FUNCTIONS
from repayguard.rules.zen.lexer import Token, tokenize
from repayguard.rules.zen.parser import parse_expression, parse_unary
from repayguard.rules.zen.tree import referenced_paths
from repayguard.rules.zen.values import Value, to_host, to_value
from repayguard.rules.zen.vectorized import to_polars

__all__ = [
    "CLOCK_FUNCTIONS",
    "Expression",
    "Node",
    "Token",
    "UnaryTest",
    "Value",
    "ZenError",
    "ZenEvaluationError",
    "ZenSyntaxError",
    "ZenUnsupported",
    "ast",
    "compile_expression",
    "compile_unary",
    "float_range",
    "parse_expression",
    "parse_unary",
    "referenced_paths",
    "threshold",
    "to_host",
    "to_polars",
    "to_value",
    "tokenize",
]
