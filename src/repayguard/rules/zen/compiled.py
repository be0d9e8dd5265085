"""Compiled expressions and unary tests: parse once, evaluate many times."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from repayguard.rules.zen import ast
from repayguard.rules.zen.errors import ZenEvaluationError
from repayguard.rules.zen.evaluator import Compiled, Frame, compile_node
from repayguard.rules.zen.parser import parse_expression, parse_unary
from repayguard.rules.zen.values import Value, to_host, to_value


@dataclass(frozen=True, slots=True)
class Expression:
    """A standard expression (decision-table output, expression-node value, switch condition).

    ``evaluate`` returns plain Python values as zen-engine's Python binding does: numbers as
    ``float``, objects as ``dict``, arrays as ``list``. ``now`` is the clock reading used for
    ``date("now")`` and friends (the system clock when omitted, as in zen-engine).
    """

    source: str
    ast: ast.Node
    _run: Compiled = field(repr=False, compare=False)

    def evaluate(self, context: Mapping[str, Any], *, now: datetime | None = None) -> Any:
        """The expression's value on ``context``; raises ZenEvaluationError where zen-engine
        raises (and ZenUnsupported for a value-dependent construct that is refused)."""
        return to_host(self.evaluate_value(context, now=now))

    def evaluate_value(self, context: Mapping[str, Any], *, now: datetime | None = None) -> Value:
        """Like ``evaluate`` but keeps the engine's own values (numbers as exact decimals), for
        chaining expressions without losing digits."""
        try:
            return self._run(Frame(context, now))
        except ZenEvaluationError as exc:
            if exc.source is None:
                exc.source = self.source
            raise


@dataclass(frozen=True, slots=True)
class UnaryTest:
    """A decision-table cell: a test of one value (``$``), e.g. ``>= 30``, ``"a", "b"``."""

    source: str
    ast: ast.Node
    _run: Compiled = field(repr=False, compare=False)

    def test(self, value: Any, context: Mapping[str, Any], *, now: datetime | None = None) -> bool:
        """Whether ``value`` passes, with other names read from ``context``.

        Raises ZenEvaluationError where zen-engine raises (``< 5`` on a string, ...); a
        decision table treats such a cell as not matching.
        """
        frame = Frame(context, now)
        frame.cache["$"] = to_value(value)
        try:
            result = self._run(frame)
        except ZenEvaluationError as exc:
            if exc.source is None:
                exc.source = self.source
            raise
        if result is True or result is False:
            return result
        raise ZenEvaluationError("the unary test did not give a boolean", source=self.source)


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> Expression:
    """Parse and compile a standard expression (raises ZenSyntaxError / ZenUnsupported)."""
    node = parse_expression(source)
    return Expression(source, node, compile_node(node, source))


@lru_cache(maxsize=4096)
def compile_unary(source: str) -> UnaryTest:
    """Parse and compile a unary test (raises ZenSyntaxError / ZenUnsupported). An empty cell
    is a syntax error here, as in zen-engine's unary evaluation; decision tables treat an
    empty cell as matching anything before ever compiling it."""
    node = parse_unary(source)
    return UnaryTest(source, node, compile_node(node, source))
