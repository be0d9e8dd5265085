"""Explain one decision: each row tested and why, the outcome, guardrails, what would change it.

"What would change the outcome" is the counterfactual search of ``counterfactual.py``: the
nearest less restrictive outcome reachable by changing actionable inputs only (one input or
several), smallest change first, or why there is none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

import polars as pl

from repayguard.core.policy import guardrails
from repayguard.core.policy.cells import Cell, Test
from repayguard.core.policy.compiler import CompiledPolicy
from repayguard.core.policy.counterfactual import WHY_NONE, Alternative, RiskMove, search
from repayguard.core.policy.inputs import json_value
from repayguard.core.policy.semantics import test_value, zen_eval, zen_source

Verdict = Literal["match", "no match", "error"]
RowStatus = Literal["decided", "matched", "not matched", "not reached"]


@dataclass(frozen=True, slots=True)
class CellTrace:
    """One cell on the borrower's value: the verdict and why, test by test."""

    input: str
    value: Any
    cell: str
    verdict: Verdict
    why: str


@dataclass(frozen=True, slots=True)
class RowTrace:
    """One row of the table: whether it decided, matched, failed or was not reached."""

    row_id: str
    position: int
    description: str
    status: RowStatus
    cells: tuple[CellTrace, ...]


@dataclass(frozen=True, slots=True)
class Trace:
    """The full explanation of one decision."""

    policy: dict[str, Any]
    inputs: dict[str, Any]
    rows: tuple[RowTrace, ...]
    outcome: dict[str, Any]
    applied: dict[str, Any]
    guardrail: str | None
    what_would_change: tuple[Alternative, ...]
    why_none: str | None = None
    """Why ``what_would_change`` is empty (a ``counterfactual.WHY_NONE`` code), else None."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "inputs": {k: json_value(v) for k, v in self.inputs.items()},
            "rows": [
                {
                    "row_id": r.row_id,
                    "position": r.position,
                    "description": r.description,
                    "status": r.status,
                    "cells": [
                        {
                            "input": c.input,
                            "value": json_value(c.value),
                            "cell": c.cell,
                            "verdict": c.verdict,
                            "why": c.why,
                        }
                        for c in r.cells
                    ],
                }
                for r in self.rows
            ],
            "outcome": self.outcome,
            "applied": self.applied,
            "guardrail": self.guardrail,
            "what_would_change": [a.as_dict() for a in self.what_would_change],
            "why_none": self.why_none,
            "why_none_text": WHY_NONE[self.why_none]["en"] if self.why_none else None,
        }


def _shown(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, date):
        return f'd("{value.isoformat()}")'
    return f"{value:g}" if isinstance(value, float) else str(value)


def _cell_trace(name: str, cell: Cell, value: Any) -> CellTrace:
    result = zen_eval(cell, value)
    verdict: Verdict = "error" if result is None else "match" if result else "no match"
    if cell.is_any:
        return CellTrace(name, value, cell.text, verdict, "any value matches")
    parts: list[str] = []
    outcome = test_value(cell.tests[0], value)
    parts.append(_step(cell.tests[0], value, outcome))
    for join, test in zip(cell.joins, cell.tests[1:], strict=True):
        if outcome is None:
            break
        if (join == "or" and outcome) or (join == "and" and not outcome):
            parts.append(f"{join} {zen_source(test)}: not evaluated")
            continue
        outcome = test_value(test, value)
        parts.append(f"{join} {_step(test, value, outcome)}")
    why = "; ".join(parts)
    if result is None:
        why += " -- ZEN stops on the error, so the cell does not match"
    return CellTrace(name, value, cell.text, verdict, why)


def _step(test: Test, value: Any, outcome: bool | None) -> str:
    if outcome is None:
        return f"{_shown(value)} {zen_source(test)}: error (not a comparable value)"
    return f"{_shown(value)} {zen_source(test)}: {'yes' if outcome else 'no'}"


def explain(
    compiled: CompiledPolicy,
    inputs: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
    risk: RiskMove | None = None,
) -> Trace:
    """The trace of deciding ``inputs`` (already in their declared types, see ``inputs.py``).

    ``current`` (the borrower's method states, if any) resolves a ``keep`` outcome; ``risk``
    models the tier a change of actionable inputs brings (see ``counterfactual.py``).
    """
    ir = compiled.ir
    outcome = compiled.evaluate_row(inputs)
    decided = set(outcome.rule_ids)
    first = ir.hit_policy != "collect"
    rows: list[RowTrace] = []
    reached = True
    for row in ir.rows:
        cells = tuple(_cell_trace(c.input, c.cell, inputs.get(c.input)) for c in row.cells)
        matched = all(c.verdict == "match" for c in cells)
        status: RowStatus
        if row.id in decided:
            status = "decided" if first else "matched"
        else:
            status = "not reached" if not reached else "not matched"
        rows.append(
            RowTrace(row.id, row.index, compiled.policy.rows[row.index].description, status, cells)
        )
        if first and matched and reached:
            reached = False
    default = compiled.policy.default_row
    if default is not None:
        status = "decided" if outcome.rule_id == default.id else "not reached"
        rows.append(
            RowTrace(default.id, len(compiled.policy.rows) - 1, default.description, status, ())
        )
    applied = dict(current) if outcome.keep and current else outcome.states()
    frame = pl.DataFrame(
        [{"rule_id": outcome.rule_id, **applied}],
        schema={
            "rule_id": pl.String,
            "auto_debit": pl.String,
            "early_repayment": pl.String,
            "manual": pl.String,
            "manual_channels": pl.List(pl.String),
        },
    )
    enforced = guardrails.enforce(frame, compiled).row(0, named=True)
    note = enforced["guardrail"]
    final = {k: enforced[k] for k in ("auto_debit", "early_repayment", "manual", "manual_channels")}
    found = search(compiled, inputs, final, decided_keep=outcome.keep, risk=risk)
    return Trace(
        policy={
            "name": compiled.policy.name,
            "version": compiled.version,
            "content_hash": compiled.content_hash,
            "hit_policy": compiled.hit_policy,
        },
        inputs=dict(inputs),
        rows=tuple(rows),
        outcome=outcome.as_dict(),
        applied=final,
        guardrail=note,
        what_would_change=found.alternatives,
        why_none=found.why_none,
    )
