"""Exact reasoning over cells: the set of values each cell matches, rows as boxes, coverage.

For every input type a cell matches an exactly representable set of values: unions of
intervals for numbers, integers and dates (dates as day ordinals), finite or co-finite sets of
strings, subsets of {true, false}; plus whether it matches null. A row matches the box (product)
of its cells' sets, intersected with the inputs' declared domains (enum, minimum/maximum,
nullable). Coverage of a box by a union of boxes is decided by splitting the box along the
covers' faces until each piece is inside one cover or outside all; it is exact, and gives up
(``UNKNOWN``) only past a work budget, so a finding is only ever claimed when it is proven.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Final

from repayguard.core.policy.cells import Cell, Compare, Interval, Test, literal_type
from repayguard.core.policy.ir import LITERAL_KIND, RowIR
from repayguard.core.policy.model import InputSpec
from repayguard.core.policy.semantics import zen_match

INF: Final = math.inf
UNKNOWN: Final = "unknown"
"""Returned when the work budget ran out before coverage was decided."""


@dataclass(frozen=True, slots=True)
class Span:
    """One interval of the real line; infinite ends are open."""

    lo: float
    lo_closed: bool
    hi: float
    hi_closed: bool

    def empty(self) -> bool:
        return self.lo > self.hi or (self.lo == self.hi and not (self.lo_closed and self.hi_closed))


def _norm(spans: Sequence[Span], integer: bool) -> tuple[Span, ...]:
    """Sorted, disjoint, merged spans; on integers, closed integer bounds."""
    out: list[Span] = []
    for s in spans:
        if integer:
            lo = (
                s.lo if s.lo == -INF else (math.ceil(s.lo) if s.lo_closed else math.floor(s.lo) + 1)
            )
            hi = s.hi if s.hi == INF else (math.floor(s.hi) if s.hi_closed else math.ceil(s.hi) - 1)
            s = Span(lo, lo != -INF, hi, hi != INF)
        if not s.empty():
            out.append(s)
    out.sort(key=lambda s: (s.lo, not s.lo_closed))
    merged: list[Span] = []
    for s in out:
        if merged:
            last = merged[-1]
            touch = last.hi > s.lo or (last.hi == s.lo and (last.hi_closed or s.lo_closed))
            if integer and last.hi != INF and s.lo != -INF and s.lo - last.hi <= 1:
                touch = True
            if touch:
                hi, hi_closed = max((last.hi, last.hi_closed), (s.hi, s.hi_closed))
                merged[-1] = Span(last.lo, last.lo_closed, hi, hi_closed)
                continue
        merged.append(s)
    return tuple(merged)


@dataclass(frozen=True, slots=True)
class ValueSet:
    """The values of one input a cell (or row) admits. ``kind`` is number (``integer`` for
    integers and dates), string or boolean. Strings: ``strings`` is the finite set, or the
    excluded set when ``cofinite``."""

    kind: str
    null: bool
    spans: tuple[Span, ...] = ()
    integer: bool = False
    strings: frozenset[str] = frozenset()
    cofinite: bool = False
    bools: frozenset[bool] = frozenset()

    def _with(self, other: ValueSet, op: str) -> ValueSet:
        if op == "&":
            null = self.null and other.null
        elif op == "|":
            null = self.null or other.null
        else:
            null = self.null and not other.null
        if self.kind == "number":
            spans = _span_op(self.spans, other.spans, op)
            return replace(self, null=null, spans=_norm(spans, self.integer))
        if self.kind == "boolean":
            bools = {
                "&": self.bools & other.bools,
                "|": self.bools | other.bools,
                "-": self.bools - other.bools,
            }[op]
            return replace(self, null=null, bools=frozenset(bools))
        strings, cofinite = _string_op(self, other, op)
        return replace(self, null=null, strings=strings, cofinite=cofinite)

    def __and__(self, other: ValueSet) -> ValueSet:
        return self._with(other, "&")

    def __or__(self, other: ValueSet) -> ValueSet:
        return self._with(other, "|")

    def __sub__(self, other: ValueSet) -> ValueSet:
        return self._with(other, "-")

    def is_empty(self) -> bool:
        if self.null:
            return False
        if self.kind == "number":
            return not self.spans
        if self.kind == "boolean":
            return not self.bools
        return not self.cofinite and not self.strings

    def within(self, other: ValueSet) -> bool:
        """True when every value of this set is in ``other``."""
        return (self - other).is_empty()

    def sample(self) -> Any:
        """One value of the set (a non-null one when there is any); the set must not be empty."""
        if self.kind == "number" and self.spans:
            return _span_point(self.spans[0], self.integer, self.spans)
        if self.kind == "boolean" and self.bools:
            return sorted(self.bools)[-1]
        if self.kind == "string" and (self.strings or self.cofinite):
            if not self.cofinite:
                return sorted(self.strings)[0]
            return next(
                f"other{i or ''}"
                for i in range(len(self.strings) + 1)
                if f"other{i or ''}" not in self.strings
            )
        return None

    def points(self) -> list[Any]:
        """A few representative values, null included when admitted (for what-if searches)."""
        out: list[Any] = []
        if self.kind == "number":
            out = [_span_point(s, self.integer, self.spans) for s in self.spans]
        elif self.kind == "boolean":
            out = sorted(self.bools)
        elif self.strings and not self.cofinite:
            out = sorted(self.strings)
        elif self.cofinite:
            out = [self.sample()]
        return [*out, None] if self.null else out


def _span_op(a: tuple[Span, ...], b: tuple[Span, ...], op: str) -> list[Span]:
    if op == "|":
        return [*a, *b]
    if op == "-":
        b = _complement(b)
    return [_meet(x, y) for x in a for y in b]


def _meet(x: Span, y: Span) -> Span:
    """The intersection of two spans (possibly empty): the tighter bound on each side."""
    lo, lo_open = max((x.lo, not x.lo_closed), (y.lo, not y.lo_closed))
    hi, hi_closed = min((x.hi, x.hi_closed), (y.hi, y.hi_closed))
    return Span(lo, not lo_open, hi, hi_closed)


def _complement(spans: tuple[Span, ...]) -> tuple[Span, ...]:
    out: list[Span] = []
    lo, lo_closed = -INF, False
    for s in spans:
        out.append(Span(lo, lo_closed, s.lo, not s.lo_closed))
        lo, lo_closed = s.hi, not s.hi_closed
    out.append(Span(lo, lo_closed, INF, False))
    return tuple(s for s in out if not s.empty())


def _string_op(a: ValueSet, b: ValueSet, op: str) -> tuple[frozenset[str], bool]:
    if op == "-":  # a - b = a & not b
        b = replace(b, cofinite=not b.cofinite)
        op = "&"
    if op == "&":
        if a.cofinite and b.cofinite:
            return a.strings | b.strings, True
        if a.cofinite:
            return b.strings - a.strings, False
        if b.cofinite:
            return a.strings - b.strings, False
        return a.strings & b.strings, False
    if a.cofinite and b.cofinite:
        return a.strings & b.strings, True
    if a.cofinite:
        return a.strings - b.strings, True
    if b.cofinite:
        return b.strings - a.strings, True
    return a.strings | b.strings, False


def _span_point(span: Span, integer: bool, all_spans: tuple[Span, ...]) -> float:
    """A readable point of a span: 0 when inside, else a finite closed end, else nearby."""
    if _inside(0.0, span):
        return 0.0
    if span.lo_closed:
        return span.lo
    if span.hi_closed:
        return span.hi
    if span.lo == -INF and span.hi == INF:
        return 0.0
    if span.lo == -INF:
        return span.hi - 1
    if span.hi == INF:
        return span.lo + 1 if not integer else span.lo
    step = 1.0 if span.hi - span.lo > 2 else (span.hi - span.lo) / 2
    return span.lo + step


def _inside(x: float, span: Span) -> bool:
    above = x > span.lo or (x == span.lo and span.lo_closed)
    below = x < span.hi or (x == span.hi and span.hi_closed)
    return above and below


# -- cells and rows as sets ---------------------------------------------------------------------


def domain(spec: InputSpec) -> ValueSet:
    """Every value an input may take: its type, enum, bounds and nullability."""
    kind = LITERAL_KIND[spec.type]
    if kind in ("number", "date"):
        integer = spec.type in ("integer", "date")
        lo = spec.minimum if spec.minimum is not None else -INF
        hi = spec.maximum if spec.maximum is not None else INF
        spans = _norm([Span(lo, lo != -INF, hi, hi != INF)], integer)
        return ValueSet("number", spec.nullable, spans=spans, integer=integer)
    if kind == "boolean":
        return ValueSet("boolean", spec.nullable, bools=frozenset({True, False}))
    if spec.enum is not None:
        return ValueSet("string", spec.nullable, strings=frozenset(spec.enum))
    return ValueSet("string", spec.nullable, cofinite=True)


def _point(full: ValueSet, x: Any) -> ValueSet:
    if full.kind == "number":
        v = float(x.toordinal()) if isinstance(x, date) else float(x)
        return replace(full, null=False, spans=_norm([Span(v, True, v, True)], full.integer))
    if full.kind == "boolean":
        return replace(full, null=False, bools=frozenset({x}))
    return replace(full, null=False, strings=frozenset({x}), cofinite=False)


def _test_set(test: Test, full: ValueSet, kind: str) -> ValueSet:
    """The non-null values a test matches, within ``full`` (an unbounded, null-free domain)."""
    nothing = full - full
    if isinstance(test, Compare):
        x = test.value
        if test.op in ("==", "!="):
            hit = _point(full, x) if literal_type(x) == kind else nothing
            return hit if test.op == "==" else full - hit
        v = float(x.toordinal()) if isinstance(x, date) else float(x)  # type: ignore[arg-type]
        span = {
            "<": Span(-INF, False, v, False),
            "<=": Span(-INF, False, v, True),
            ">": Span(v, False, INF, False),
            ">=": Span(v, True, INF, False),
        }[test.op]
        return replace(full, spans=_norm([span], full.integer))
    if isinstance(test, Interval):
        inside = replace(
            full,
            spans=_norm(
                [Span(test.low, test.low_closed, test.high, test.high_closed)], full.integer
            ),
        )
        return full - inside if test.outside else inside
    hit = nothing
    for x in test.values:
        if literal_type(x) == kind:
            hit = hit | _point(full, x)
    return full - hit if test.negated else hit


def cell_set(cell: Cell, spec: InputSpec) -> ValueSet:
    """Exactly the values (null included or not) the cell matches, within the input's domain."""
    dom = domain(spec)
    if cell.is_any:
        return dom
    kind = LITERAL_KIND[spec.type]
    full = replace(domain(InputSpec(type=spec.type)), null=False)
    result = _test_set(cell.tests[0], full, kind)
    for join, test in zip(cell.joins, cell.tests[1:], strict=True):
        other = _test_set(test, full, kind)
        result = result | other if join == "or" else result & other
    return replace(result, null=zen_match(cell, None)) & dom


Box = dict[str, ValueSet]


def row_box(row: RowIR, inputs: Mapping[str, InputSpec]) -> Box:
    """The values each tested input may take for the row to match (others: anything)."""
    return {c.input: cell_set(c.cell, inputs[c.input]) for c in row.cells}


def box_empty(box: Box) -> bool:
    return any(v.is_empty() for v in box.values())


def intersect(a: Box, b: Box) -> Box:
    out = dict(a)
    for name, values in b.items():
        out[name] = out[name] & values if name in out else values
    return out


def example(box: Box, inputs: Mapping[str, InputSpec]) -> dict[str, Any]:
    """One input in the box (inputs the box does not constrain are left out)."""
    out: dict[str, Any] = {}
    for name, values in sorted(box.items()):
        out[name] = present(values.sample(), inputs[name].type)
    return out


def present(value: Any, input_type: str) -> Any:
    """A value in the input's own form: whole numbers as int, day ordinals as dates."""
    if value is None or isinstance(value, bool | str):
        return value
    if input_type == "date":
        return date.fromordinal(int(min(max(value, 1), date.max.toordinal())))
    return int(value) if float(value).is_integer() else float(value)


def uncovered(
    box: Box, covers: Sequence[Box], inputs: Mapping[str, InputSpec], budget: int = 20_000
) -> dict[str, Any] | str | None:
    """An input in ``box`` that no cover contains, None when the covers contain the whole box,
    or :data:`UNKNOWN` past the budget. Boxes leave unconstrained inputs out."""
    names = sorted({n for b in (box, *covers) for n in b})
    full = {n: box.get(n, domain(inputs[n])) for n in names}
    remaining = [budget]

    def search(current: Box, live: list[Box]) -> dict[str, Any] | str | None:
        remaining[0] -= 1
        if remaining[0] < 0:
            return UNKNOWN
        clipped = []
        for c in live:
            cut = {n: current[n] & c[n] for n in c}
            if not box_empty(cut):
                clipped.append(c)
        if not clipped:
            return example(current, inputs)
        for c in clipped:
            if all(current[n].within(c[n]) for n in c):
                return None
        cover = clipped[0]
        name = next(n for n in sorted(cover) if not current[n].within(cover[n]))
        outside = {**current, name: current[name] - cover[name]}
        found = search(outside, clipped[1:])
        if found is not None:
            return found
        return search({**current, name: current[name] & cover[name]}, clipped)

    return search(full, list(covers))


def policy_boxes(rows: Sequence[RowIR], inputs: Mapping[str, InputSpec]) -> list[Box]:
    """The box of each conditional row, intersected with the inputs' domains."""
    boxes = []
    for row in rows:
        box = row_box(row, inputs)
        boxes.append(box)
    return boxes


def reaching(
    target: Box, earlier: Sequence[Box], inputs: Mapping[str, InputSpec]
) -> dict[str, Any] | None:
    """An input that matches ``target`` and none of ``earlier`` (reaches it under ``first``),
    else one that at least matches ``target``; None when ``target`` is empty."""
    if box_empty(target):
        return None
    found = uncovered(target, earlier, inputs, budget=5_000)
    if isinstance(found, dict):
        return found
    return example(target, inputs)
