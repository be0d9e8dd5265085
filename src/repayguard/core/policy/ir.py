"""The typed intermediate form of a policy: parsed, type-bound cells and resolved row outcomes.

Both back ends (Python closures in :mod:`rowform`, Polars expressions in :mod:`vectorized`)
and the static analyses compile from this one form, so they cannot disagree about what a row
tests or outputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from repayguard.core.policy.cells import (
    Cell,
    CellSyntaxError,
    Compare,
    Interval,
    Member,
    can_error,
    literal_type,
    parse_cell,
)
from repayguard.core.policy.model import HitPolicy, InputSpec, Policy, Row
from repayguard.core.policy.outcome import NO_MATCH, RowDecision, no_match
from repayguard.core.policy.problems import PolicyInvalid, PolicyProblem
from repayguard.core.policy.semantics import zen_eval

LITERAL_KIND: Final[Mapping[str, str]] = {
    "number": "number",
    "integer": "number",
    "string": "string",
    "boolean": "boolean",
    "date": "date",
}
"""The kind of literal a cell of each input type may hold (besides null)."""


@dataclass(frozen=True, slots=True)
class CellIR:
    """One cell bound to its input: the input's name and declared type, and the parsed test."""

    input: str
    type: str
    cell: Cell


@dataclass(frozen=True, slots=True)
class RowIR:
    """A conditional row: its position in the document, its cells and its resolved outcome."""

    index: int
    id: str
    cells: tuple[CellIR, ...]
    outcome: RowDecision


@dataclass(frozen=True, slots=True)
class PolicyIR:
    """A policy ready to compile: conditional rows in table order, the default row's outcome
    (if any) and the fallback applied when no row matches."""

    hit_policy: HitPolicy
    inputs: Mapping[str, InputSpec]
    rows: tuple[RowIR, ...]
    default: RowDecision | None
    fallback: RowDecision

    @property
    def input_types(self) -> dict[str, str]:
        return {name: spec.type for name, spec in self.inputs.items()}

    @property
    def inputs_used(self) -> tuple[str, ...]:
        """Input names some row tests, sorted."""
        return tuple(sorted({c.input for row in self.rows for c in row.cells}))


def bind_cell(
    row_id: str, name: str, text: str, spec: InputSpec | None
) -> tuple[Cell | None, PolicyProblem | None]:
    """Parse a cell and check it fits its input: declared, literals of the input's type, order
    tests only on numbers and dates, string literals among the enum."""
    where = f"when.{name}"
    try:
        cell = parse_cell(text)
    except CellSyntaxError as exc:
        return None, PolicyProblem(row_id, where, str(exc))
    if spec is None:
        return None, PolicyProblem(row_id, where, f"unknown input {name!r}; declare it")
    kind = LITERAL_KIND[spec.type]
    kinds = {literal_type(v) for v in cell.literals()} - {"null"}
    wrong = sorted(kinds - {kind})
    if wrong:
        return None, PolicyProblem(
            row_id,
            where,
            f"{', '.join(wrong)} value(s) in a cell of the {spec.type} input {name!r}",
        )
    for test in cell.tests:
        if not can_error(test):
            continue
        if isinstance(test, Interval) and kind != "number":
            what = "an interval"
        elif isinstance(test, Compare) and kind not in ("number", "date"):
            what = "an order comparison"
        else:
            continue
        return None, PolicyProblem(
            row_id,
            where,
            f"{what} in a cell of the {spec.type} input "
            f"{name!r}; order tests need a number or date input",
        )
    if spec.enum is not None:
        outside = [v for v in cell.literals() if isinstance(v, str) and v not in spec.enum]
        if outside:
            return None, PolicyProblem(
                row_id, where, f"{outside} not among {list(spec.enum)} of {name!r}"
            )
    return cell, None


def dead_null_test(row_id: str, name: str, cell: Cell) -> PolicyProblem | None:
    """A cell that names null after an order test: ZEN stops with an error at the order test
    on a null value, so the null test is never reached (``[0..29], null`` misses null)."""
    names_null = any(
        (isinstance(t, Compare) and t.op == "==" and t.value is None)
        or (isinstance(t, Member) and not t.negated and None in t.values)
        for t in cell.tests
    )
    if not names_null or zen_eval(cell, None) is not None:
        return None
    return PolicyProblem(
        row_id,
        f"when.{name}",
        f"{cell.text!r} never matches null: ZEN evaluates the tests left to right and stops "
        f"with an error at the first order test, so the null test after it is never reached; "
        f"put null first (e.g. null, [0..29])",
    )


def outcome(policy: Policy, row: Row) -> RowDecision:
    """A row's outcome with left-out methods filled from the default row (or the baseline)."""
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
        rule_ids=(row.id,),
    )


def _baseline(policy: Policy) -> RowDecision:
    base = policy.baseline
    return RowDecision(
        rule_id=NO_MATCH,
        auto_debit=str(base.auto_debit),
        early_repayment=str(base.early_repayment),
        manual=str(base.manual),
        manual_channels=tuple(base.manual_channels or ()),
        reasons=(),
        requires_approval=False,
        notice_days=0,
        max_days=None,
        review_after_days=None,
        keep=False,
        rule_ids=(),
    )


def build_ir(policy: Policy) -> PolicyIR:
    """The typed form of a policy; raises PolicyInvalid when a cell does not parse or fit."""
    problems: list[PolicyProblem] = []
    rows: list[RowIR] = []
    default = policy.default_row
    for index, row in enumerate(policy.rows):
        if row is default:
            continue
        cells: list[CellIR] = []
        for name, text in row.when.items():
            spec = policy.inputs.get(name)
            cell, problem = bind_cell(row.id, name, text, spec)
            if problem is not None:
                problems.append(problem)
            elif cell is not None and spec is not None and not cell.is_any:
                cells.append(CellIR(name, spec.type, cell))
        rows.append(RowIR(index, row.id, tuple(cells), outcome(policy, row)))
    if problems:
        raise PolicyInvalid(problems)
    default_outcome = outcome(policy, default) if default is not None else None
    fallback = default_outcome or no_match(_baseline(policy))
    return PolicyIR(policy.hit_policy, policy.inputs, tuple(rows), default_outcome, fallback)
