"""The row back end: each cell a plain Python predicate, each row one closure (one decision).

Every predicate equals :func:`~repayguard.core.policy.semantics.zen_match` on any Python value
(ZEN's semantics); the common shapes get specialised closures. ``CompiledPolicy.evaluate_row``
runs these closures' expressions written out in one function per policy (:mod:`rowcode`);
``RowEvaluator.evaluate`` is the reference it is tested against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Final

from repayguard.core.policy.cells import (
    Cell,
    Compare,
    Interval,
    Member,
    Scalar,
    Test,
    can_error,
    literal_type,
)
from repayguard.core.policy.ir import PolicyIR
from repayguard.core.policy.outcome import RowDecision, merge
from repayguard.core.policy.semantics import number_range, number_threshold, zen_match

Predicate = Callable[[Any], bool]
RowMatcher = Callable[[Callable[[str], Any]], bool]

NUMBER_TYPES: Final = frozenset({int, float})


def is_number(v: Any) -> bool:
    """Numbers of other exact types (numpy scalars, int subclasses); booleans are not numbers."""
    return isinstance(v, int | float) and not isinstance(v, bool) and v == v


def _always(_: Any) -> bool:
    return True


def _equals(value: Scalar) -> Predicate:
    if value is None:
        return lambda v: v is None or (type(v) is float and v != v)  # NaN counts as null
    if value is True or value is False:
        return lambda v: v is value
    if isinstance(value, str):
        return lambda v: isinstance(v, str) and v == value
    if isinstance(value, date):
        return lambda v: type(v) is date and v == value
    low, high = number_range(value)
    num, slow = NUMBER_TYPES, is_number
    return lambda v: (type(v) in num or slow(v)) and low <= v <= high


def _ordering(op: str, x: Scalar) -> Predicate:
    if isinstance(x, date):
        ops: dict[str, Predicate] = {
            "<": lambda v: type(v) is date and v < x,
            "<=": lambda v: type(v) is date and v <= x,
            ">": lambda v: type(v) is date and v > x,
            ">=": lambda v: type(v) is date and v >= x,
        }
        return ops[op]
    num, slow = NUMBER_TYPES, is_number
    t = number_threshold(op, x)  # type: ignore[arg-type]  # an order test holds a number here
    ops = {  # NaN fails every comparison, as null (an error in ZEN) does
        "<": lambda v: (type(v) in num or slow(v)) and v < t,
        "<=": lambda v: (type(v) in num or slow(v)) and v <= t,
        ">": lambda v: (type(v) in num or slow(v)) and v > t,
        ">=": lambda v: (type(v) in num or slow(v)) and v >= t,
    }
    return ops[op]


def test_predicate(test: Test) -> Predicate:
    """One test as a predicate; a ZEN error (order test on a non-number) gives False."""
    if isinstance(test, Compare):
        if test.op == "==":
            return _equals(test.value)
        if test.op == "!=":
            eq = _equals(test.value)
            return lambda v: not eq(v)
        return _ordering(test.op, test.value)
    if isinstance(test, Interval):
        lo_op, hi_op = (">=" if test.low_closed else ">"), ("<=" if test.high_closed else "<")
        lo, hi = number_threshold(lo_op, test.low), number_threshold(hi_op, test.high)
        outside = test.outside
        above: Predicate = (lambda v: v >= lo) if test.low_closed else (lambda v: v > lo)
        below: Predicate = (lambda v: v <= hi) if test.high_closed else (lambda v: v < hi)
        if outside:
            return lambda v: is_number(v) and not (above(v) and below(v))
        return lambda v: (type(v) in NUMBER_TYPES or is_number(v)) and above(v) and below(v)
    members = tuple(_equals(x) for x in test.values)
    if test.negated:
        return lambda v: not any(m(v) for m in members)
    return lambda v: any(m(v) for m in members)


def _fold(cell: Cell) -> Predicate:
    """The left fold of the cell's tests, exact for values on which no test errors."""
    preds = tuple(test_predicate(t) for t in cell.tests)
    if cell.is_disjunction:

        def any_of(v: Any) -> bool:
            for p in preds:  # noqa: SIM110  (a plain loop is faster than any() over a generator)
                if p(v):
                    return True
            return False

        return any_of
    joins = cell.joins

    def folded(v: Any) -> bool:
        result = preds[0](v)
        for join, p in zip(joins, preds[1:], strict=True):
            if (join == "or") == result:
                continue
            result = p(v)
        return result

    return folded


def string_set(cell: Cell) -> frozenset[str] | None:
    """The strings of a cell that is only string equalities joined by *or*, else None."""
    if not cell.is_disjunction:
        return None
    out: list[str] = []
    for t in cell.tests:
        if isinstance(t, Compare) and t.op == "==" and isinstance(t.value, str):
            out.append(t.value)
        elif isinstance(t, Member) and not t.negated and all(isinstance(x, str) for x in t.values):
            out.extend(x for x in t.values if isinstance(x, str))
        else:
            return None
    return frozenset(out)


def cell_predicate(cell: Cell) -> Predicate:
    """The row form of a cell: a plain Python function of one input value, ZEN's meaning."""
    if cell.is_any:
        return _always
    strings = string_set(cell)
    if strings is not None:
        return lambda v: isinstance(v, str) and v in strings
    if len(cell.tests) == 1:
        return test_predicate(cell.tests[0])
    erring = [t for t in cell.tests if can_error(t)]
    folded = _fold(cell)
    if not erring:
        return folded
    kinds = {literal_type(t.value) if isinstance(t, Compare) else "number" for t in erring}
    on_null = zen_match(cell, None)  # null is common; the reference is the slow path

    def reference(v: Any) -> bool:
        return on_null if v is None else zen_match(cell, v)

    if kinds == {"number"}:  # no test errors on a number: the fold is exact there
        num = NUMBER_TYPES
        return lambda v: folded(v) if (type(v) in num and v == v) or is_number(v) else reference(v)
    if kinds == {"date"}:
        return lambda v: folded(v) if type(v) is date else reference(v)
    return reference


def row_matcher(cells: list[tuple[str, Predicate]]) -> RowMatcher:
    """All cells of a row as one closure over ``inputs.get``; specialised for 0-3 cells."""
    if not cells:
        return lambda get: True
    if len(cells) == 1:
        ((n1, p1),) = cells
        return lambda get: p1(get(n1))
    if len(cells) == 2:
        (n1, p1), (n2, p2) = cells
        return lambda get: p1(get(n1)) and p2(get(n2))
    if len(cells) == 3:
        (n1, p1), (n2, p2), (n3, p3) = cells
        return lambda get: p1(get(n1)) and p2(get(n2)) and p3(get(n3))
    frozen = tuple(cells)
    return lambda get: all(p(get(n)) for n, p in frozen)


class RowEvaluator:
    """Decides one input mapping (missing names are null) with the policy's hit policy."""

    __slots__ = ("_fallback", "_matchers", "_outcomes", "_pairs", "evaluate", "known")

    def __init__(self, ir: PolicyIR) -> None:
        self._matchers = tuple(
            row_matcher([(c.input, cell_predicate(c.cell)) for c in row.cells]) for row in ir.rows
        )
        self._outcomes = tuple(row.outcome for row in ir.rows)
        self._pairs = tuple(zip(self._matchers, self._outcomes, strict=True))
        self._fallback = ir.fallback
        self.known: dict[int, RowDecision] = {0: ir.fallback}
        """The merged outcome of each ``collect`` mask seen so far (0: the fallback)."""
        self.evaluate: Callable[[Mapping[str, Any]], RowDecision] = (
            self._collect if ir.hit_policy == "collect" else self._first
        )

    def first_hit(self, inputs: Mapping[str, Any]) -> int:
        """Index (among conditional rows) of the first matching row, or -1 for none."""
        get = inputs.get
        for index, matches in enumerate(self._matchers):
            if matches(get):
                return index
        return -1

    def matched(self, inputs: Mapping[str, Any]) -> list[int]:
        """Indexes (among conditional rows) of every matching row, in table order."""
        get = inputs.get
        return [i for i, matches in enumerate(self._matchers) if matches(get)]

    def _first(self, inputs: Mapping[str, Any]) -> RowDecision:
        get = inputs.get
        for matches, outcome in self._pairs:
            if matches(get):
                return outcome
        return self._fallback

    def _collect(self, inputs: Mapping[str, Any]) -> RowDecision:
        get = inputs.get
        mask = 0
        bit = 1
        for matches in self._matchers:
            if matches(get):
                mask |= bit
            bit <<= 1
        found = self.known.get(mask)
        if found is None:
            found = self.merged(mask)
        return found

    def merged(self, mask: int) -> RowDecision:
        """The merged outcome of the rows whose bits are set in ``mask`` (0: the fallback)."""
        found = self.known.get(mask)
        if found is None:
            rows = [o for i, o in enumerate(self._outcomes) if mask >> i & 1]
            found = self.known.setdefault(mask, merge(rows))
        return found
