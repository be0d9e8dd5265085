"""ZEN's evaluation of a cell on one value: the reference semantics both back ends follow.

Tests run left to right and short-circuit; an order comparison or an interval on a value of the
wrong kind (not a number, or not a date for ``d(...)``) is an *error*, and an error anywhere
makes the whole cell not match. Equality never errors; values of different kinds are never
equal; NaN counts as null.
"""

from __future__ import annotations

from datetime import date

from repayguard.core.policy.cells import Cell, Compare, Interval, Member, Scalar, Test, literal_type


def _kind(v: object) -> str:
    """The ZEN kind of a Python value: null, boolean, number, string, date or other."""
    if v is None or (type(v) is float and v != v):
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int | float):
        return "number"
    if isinstance(v, str):
        return "string"
    if type(v) is date:
        return "date"
    return "other"


def equals(v: object, x: Scalar) -> bool:
    """ZEN equality of an input value and a literal (never an error)."""
    kind = _kind(v)
    if kind != literal_type(x):
        return False
    return kind == "null" or v == x


def test_value(test: Test, v: object) -> bool | None:
    """One test on one value: True, False, or None for a ZEN error (order test, wrong kind)."""
    if isinstance(test, Member):
        found = any(equals(v, x) for x in test.values)
        return found != test.negated
    if isinstance(test, Compare) and test.op in ("==", "!="):
        return equals(v, test.value) == (test.op == "==")
    if isinstance(test, Interval):
        if _kind(v) != "number":
            return None
        assert isinstance(v, int | float)
        above = v >= test.low if test.low_closed else v > test.low
        below = v <= test.high if test.high_closed else v < test.high
        return (above and below) != test.outside
    x = test.value
    if _kind(v) != literal_type(x):
        return None
    a, b = v, x
    if test.op == "<":
        return bool(a < b)  # type: ignore[operator]
    if test.op == "<=":
        return bool(a <= b)  # type: ignore[operator]
    if test.op == ">":
        return bool(a > b)  # type: ignore[operator]
    return bool(a >= b)  # type: ignore[operator]


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
