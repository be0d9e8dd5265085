"""ZEN's evaluation of a cell on one value: the reference both back ends follow.

The reference is :mod:`repayguard.rules.zen` itself: each test of a cell runs through its
evaluator, so a correction to ZEN's meaning there reaches the policy's row and vectorized forms
through their tests against this module. Two things stay here because that evaluator has no
calendar dates (it refuses ``d(...)``): a date literal or a date value is compared as a
calendar day, equal only to the same day, ordered only against dates (an *error* otherwise).

The back ends compare host numbers the way the engine reads them (a float becomes a decimal of
about 16 digits, so ``0.30000000000000004`` equals ``0.3``); :func:`number_threshold` and
:func:`number_range` turn a literal into the float bounds that make a plain comparison exact.
"""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from functools import lru_cache

from repayguard.core.policy.cells import Cell, Compare, Interval, Member, Scalar, Test
from repayguard.rules import zen


def number_threshold(op: str, x: float) -> float:
    """The float ``t`` with ``v <op> t`` exactly when ZEN finds ``v <op> x`` (numbers up to
    2**53 in magnitude); ``op`` one of ``< <= > >=``."""
    return zen.threshold(op, _decimal(x))


def number_range(x: float) -> tuple[float, float]:
    """The floats ``(low, high)`` that ZEN reads as equal to ``x``; empty when low > high."""
    return zen.float_range(_decimal(x))


@lru_cache(maxsize=4096)
def _decimal(x: float) -> Decimal:
    # A literal as written: the shortest decimal of its float is the text for literals of up
    # to 15 significant digits.
    return Decimal(repr(x))


def zen_source(test: Test) -> str:
    """A test as ZEN text (``>= 30``, ``not in [1..5)``, ``in ["a", null]``), for the evaluator
    and for people (explain)."""
    if isinstance(test, Compare):
        return f"{test.op} {_literal(test.value)}"
    if isinstance(test, Interval):
        low, high = "[" if test.low_closed else "(", "]" if test.high_closed else ")"
        span = f"{low}{_literal(test.low)}..{_literal(test.high)}{high}"
        return f"not in {span}" if test.outside else span
    values = ", ".join(_literal(x) for x in test.values)
    return f"{'not in' if test.negated else 'in'} [{values}]"


def _literal(x: Scalar) -> str:
    if x is None:
        return "null"
    if x is True or x is False:
        return "true" if x else "false"
    if isinstance(x, str):
        return f"'{x}'" if '"' in x else f'"{x}"'
    if isinstance(x, date):
        return f'd("{x.isoformat()}")'
    if isinstance(x, float) and not (x.is_integer() and abs(x) < 1e16):
        return repr(x)
    return str(int(x))


def test_value(test: Test, v: object) -> bool | None:
    """One test on one value: True, False, or None for a ZEN error (order test, wrong kind)."""
    if type(v) is float and math.isnan(v):
        v = None  # NaN counts as null
    if type(v) is date or any(type(x) is date for x in _literals(test)):
        return _calendar_test(test, v)
    try:
        return zen.compile_unary(zen_source(test)).test(v, {})
    except zen.ZenEvaluationError:
        return None


def _literals(test: Test) -> tuple[Scalar, ...]:
    if isinstance(test, Compare):
        return (test.value,)
    return test.values if isinstance(test, Member) else ()


def _calendar_test(test: Test, v: object) -> bool | None:
    """A test where a date is involved: equal to the same day only, ordered among dates."""
    if isinstance(test, Member):
        found = any(_same(v, x) for x in test.values)
        return found != test.negated
    if isinstance(test, Interval) or test.op in ("<", "<=", ">", ">="):
        if isinstance(test, Interval) or type(v) is not date or type(test.value) is not date:
            return None
        x = test.value
        return {"<": v < x, "<=": v <= x, ">": v > x, ">=": v >= x}[test.op]
    return _same(v, test.value) == (test.op == "==")


def _same(v: object, x: Scalar) -> bool:
    if type(v) is date or type(x) is date:
        return type(v) is date and v == x
    return test_value(Compare("==", x), v) is True


def zen_eval(cell: Cell, v: object) -> bool | None:
    """The cell's ZEN value on ``v``: True, False or None (an error). Left fold, short-circuit."""
    if cell.is_any:
        return True
    result = test_value(cell.tests[0], v)
    for join, test in zip(cell.joins, cell.tests[1:], strict=True):
        if result is None:
            return None
        if (join == "or" and result) or (join == "and" and not result):
            continue
        result = test_value(test, v)
    return result


def zen_match(cell: Cell, v: object) -> bool:
    """Whether the cell matches ``v`` in a ZEN decision table (an error does not match)."""
    return zen_eval(cell, v) is True
