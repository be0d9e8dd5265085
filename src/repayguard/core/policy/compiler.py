"""Compile a policy once into a vectorized (Polars) form and a row form that agree exactly.

Both forms apply the ``first`` hit policy: the first row whose cells all match decides; the
default row (last, no cells) always matches. Outputs are the row's effective methods (falling
back to the default row); a ``keep`` row outputs the default row's methods with ``keep = True``,
and the caller substitutes the borrower's current methods when it has them. Inputs must carry
their declared types (number: int/float, string: str, boolean: bool) or be null/missing; NaN
counts as null.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from repayguard.core.policy.cells import Cell, Compare, Interval, NoneOf, Scalar, Test, parse_cell
from repayguard.core.policy.model import Policy, Row
from repayguard.core.policy.problems import PolicyInvalid, PolicyProblem

Predicate = Callable[[Any], bool]

DTYPES: Final[Mapping[str, pl.DataType]] = {
    "number": pl.Float64(),
    "string": pl.String(),
    "boolean": pl.Boolean(),
}
DECISION_SCHEMA: Final = pl.Schema(
    {
        "rule_id": pl.String(),
        "auto_debit": pl.String(),
        "early_repayment": pl.String(),
        "manual": pl.String(),
        "manual_channels": pl.List(pl.String()),
        "reasons": pl.List(pl.String()),
        "requires_approval": pl.Boolean(),
        "notice_days": pl.Int32(),
        "max_days": pl.Int32(),
        "review_after_days": pl.Int32(),
        "keep": pl.Boolean(),
    }
)
"""Columns of :meth:`CompiledPolicy.evaluate`, row-aligned with its input."""


@dataclass(frozen=True, slots=True)
class RowDecision:
    """The outputs of the row that decided; ``keep`` asks to keep the current methods."""

    rule_id: str
    auto_debit: str
    early_repayment: str
    manual: str
    manual_channels: tuple[str, ...]
    reasons: tuple[str, ...]
    requires_approval: bool
    notice_days: int
    max_days: int | None
    review_after_days: int | None
    keep: bool


# -- row form ---------------------------------------------------------------------------------


def _equals(value: Scalar) -> Predicate:
    if value is None:
        return lambda v: v is None or v != v  # NaN counts as null
    if value is True or value is False:
        return lambda v: v is value
    if isinstance(value, str):
        return lambda v: v == value
    return lambda v: v is not True and v is not False and v == value


_NUMBER_TYPES: Final = frozenset({int, float})


def _is_number(v: Any) -> bool:
    """Numbers of other exact types (numpy scalars, int subclasses); booleans are not numbers."""
    return isinstance(v, int | float) and not isinstance(v, bool)


def _test_predicate(test: Test) -> Predicate:
    if isinstance(test, Compare):
        if test.op == "==":
            return _equals(test.value)
        if test.op == "!=":
            eq = _equals(test.value)
            return lambda v: not eq(v)
        x = test.value
        num, slow = _NUMBER_TYPES, _is_number
        ops: dict[str, Predicate] = {
            "<": lambda v: (type(v) in num or slow(v)) and v < x,
            "<=": lambda v: (type(v) in num or slow(v)) and v <= x,
            ">": lambda v: (type(v) in num or slow(v)) and v > x,
            ">=": lambda v: (type(v) in num or slow(v)) and v >= x,
        }
        return ops[test.op]
    if isinstance(test, Interval):
        lo, hi = test.low, test.high
        above: Predicate = (lambda v: v >= lo) if test.low_closed else (lambda v: v > lo)
        below: Predicate = (lambda v: v <= hi) if test.high_closed else (lambda v: v < hi)
        return lambda v: (type(v) in _NUMBER_TYPES or _is_number(v)) and above(v) and below(v)
    members = tuple(_equals(x) for x in test.values)
    return lambda v: not any(m(v) for m in members)


def cell_predicate(cell: Cell) -> Predicate:
    """The row form of a cell: a plain Python function of one input value."""
    tests = cell.alternatives
    if not tests:
        return lambda v: True
    if all(isinstance(t, Compare) and t.op == "==" and isinstance(t.value, str) for t in tests):
        strings = frozenset(t.value for t in tests if isinstance(t, Compare))
        return lambda v: isinstance(v, str) and v in strings
    preds = tuple(_test_predicate(t) for t in tests)
    if len(preds) == 1:
        return preds[0]

    def any_of(v: Any) -> bool:
        for p in preds:  # noqa: SIM110  (a plain loop is faster than any() over a generator)
            if p(v):
                return True
        return False

    return any_of


# -- vectorized form --------------------------------------------------------------------------


def _equals_expr(value: Scalar, col: pl.Expr, input_type: str) -> pl.Expr:
    if value is None:
        return col.is_null()
    literal_matches = {
        "number": isinstance(value, float),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
    }[input_type]
    if not literal_matches:
        return pl.lit(False)
    return (col == pl.lit(value, dtype=DTYPES[input_type])).fill_null(False)


def _test_expr(test: Test, col: pl.Expr, input_type: str) -> pl.Expr:
    if isinstance(test, Compare):
        if test.op == "==":
            return _equals_expr(test.value, col, input_type)
        if test.op == "!=":
            return ~_equals_expr(test.value, col, input_type)
        if input_type != "number":
            return pl.lit(False)
        x = pl.lit(test.value, dtype=pl.Float64)
        compared = {"<": col < x, "<=": col <= x, ">": col > x, ">=": col >= x}[test.op]
        return compared.fill_null(False)
    if isinstance(test, Interval):
        if input_type != "number":
            return pl.lit(False)
        above = col >= test.low if test.low_closed else col > test.low
        below = col <= test.high if test.high_closed else col < test.high
        return (above & below).fill_null(False)
    assert isinstance(test, NoneOf)
    return ~pl.any_horizontal(*[_equals_expr(x, col, input_type) for x in test.values])


def cell_expr(cell: Cell, col: pl.Expr, input_type: str) -> pl.Expr:
    """The vectorized form of a cell over a column of the declared ``input_type``; never null."""
    if cell.is_any:
        return pl.lit(True)
    exprs = [_test_expr(t, col, input_type) for t in cell.alternatives]
    return exprs[0] if len(exprs) == 1 else pl.any_horizontal(*exprs)


# -- the compiled policy ----------------------------------------------------------------------


def content_hash(policy: Policy) -> str:
    """sha256 (hex) of the canonical JSON of the policy: sorted keys, no spacing, UTF-8."""
    canonical = json.dumps(
        policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class CompiledPolicy:
    """A policy compiled once; ``evaluate`` (frames) and ``evaluate_row`` (dicts) agree exactly."""

    __slots__ = ("_matchers", "content_hash", "decisions", "input_types", "policy", "version")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.version = policy.version
        self.content_hash = content_hash(policy)
        self.input_types = {name: spec.type for name, spec in policy.inputs.items()}
        self.decisions = tuple(_decision(policy, row) for row in policy.rows)
        self._matchers = tuple(
            _row_matcher([(n, cell_predicate(parse_cell(t))) for n, t in row.when.items()])
            for row in policy.rows[:-1]
        )

    @property
    def default_outputs(self) -> dict[str, Any]:
        """The default row's outputs (what applies to a borrower no other row catches)."""
        d = self.decisions[-1]
        out = {k: getattr(d, k) for k in DECISION_SCHEMA.names()}
        return out | {"manual_channels": list(d.manual_channels), "reasons": list(d.reasons)}

    @property
    def inputs_used(self) -> tuple[str, ...]:
        """Input names some row tests, sorted."""
        return tuple(sorted({name for row in self.policy.rows for name in row.when}))

    def first_hit(self, inputs: Mapping[str, Any]) -> int:
        """Index of the deciding row for one input mapping (missing names are null)."""
        get = inputs.get
        for index, matches in enumerate(self._matchers):
            if matches(get):
                return index
        return len(self._matchers)

    def evaluate_row(self, inputs: Mapping[str, Any]) -> RowDecision:
        """The decision for one borrower's inputs; plain Python, no Polars."""
        return self.decisions[self.first_hit(inputs)]

    def first_hit_expr(self) -> pl.Expr:
        """Vectorized index of the deciding row (UInt32), over a frame of typed inputs."""
        rows = self.policy.rows
        chain: Any = None
        for index, row in enumerate(rows[:-1]):
            matched = pl.all_horizontal(
                pl.lit(True),
                *[
                    cell_expr(parse_cell(text), pl.col(name), self.input_types[name])
                    for name, text in row.when.items()
                ],
            )
            chain = (pl.when if chain is None else chain.when)(matched).then(pl.lit(index))
        last = pl.lit(len(rows) - 1)
        expr = last if chain is None else chain.otherwise(last)
        return expr.cast(pl.UInt32).alias("rule_index")

    def typed_inputs(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The used inputs of ``frame`` cast to their declared types, NaN as null."""
        missing = [name for name in self.inputs_used if name not in frame.columns]
        if missing:
            raise ValueError(f"the input frame lacks {missing}, used by policy {self.version}")
        exprs = []
        for name in self.inputs_used:
            col = pl.col(name).cast(DTYPES[self.input_types[name]])
            exprs.append(col.fill_nan(None) if self.input_types[name] == "number" else col)
        if not exprs:
            return pl.DataFrame({"_": pl.Series([None] * frame.height, dtype=pl.Null)})
        return frame.select(exprs)

    def evaluate(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Decide every row of ``frame`` (one row per borrower); result is row-aligned.

        Columns: see :data:`DECISION_SCHEMA`. Extra input columns are ignored.
        """
        typed = self.typed_inputs(frame)
        index = typed.with_columns(self.first_hit_expr()).get_column("rule_index")
        table = pl.DataFrame(
            [
                {
                    **{k: getattr(d, k) for k in DECISION_SCHEMA.names()},
                    "manual_channels": list(d.manual_channels),
                    "reasons": list(d.reasons),
                }
                for d in self.decisions
            ],
            schema=DECISION_SCHEMA,
        )
        return table.select(pl.all().gather(index))


RowMatcher = Callable[[Callable[[str], Any]], bool]


def _row_matcher(cells: list[tuple[str, Predicate]]) -> RowMatcher:
    """All cells of a row as one closure over ``inputs.get``; specialised for 1-3 cells."""
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


def _decision(policy: Policy, row: Row) -> RowDecision:
    methods = policy.methods(row)
    if None in (methods.auto_debit, methods.early_repayment, methods.manual):
        raise PolicyInvalid(
            [PolicyProblem(row.id, "then", "the default row must state every method")]
        )
    return RowDecision(
        rule_id=row.id,
        auto_debit=str(methods.auto_debit),
        early_repayment=str(methods.early_repayment),
        manual=str(methods.manual),
        manual_channels=methods.manual_channels,
        reasons=row.reasons,
        requires_approval=row.requires_approval,
        notice_days=row.notice_days,
        max_days=row.max_days,
        review_after_days=row.review_after_days,
        keep=row.keep,
    )


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile a policy accepted by ``load_policy`` (the default row last, cells that parse)."""
    if policy.default_row.when:
        raise PolicyInvalid(
            [PolicyProblem(policy.default_row.id, "when", "the last row must be the default")]
        )
    return CompiledPolicy(policy)
