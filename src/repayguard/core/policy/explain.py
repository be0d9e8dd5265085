"""Explain one decision: each row tested and why, the outcome, guardrails, what would change it.

"What would change the outcome" tries, for each input on its own, the nearest value of every
region the policy's cells distinguish (values inside one region all decide alike) and keeps, per
input, the smallest change that gives a less restrictive outcome: one that loosens a method and
tightens none. Outcomes that keep the current methods are not offered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

import polars as pl

from repayguard.core import guardrails  # module import: guardrails imports this package
from repayguard.core.policy.analysis import INF, ValueSet, cell_set, domain, present
from repayguard.core.policy.cells import Cell, Compare, Interval, Test
from repayguard.core.policy.compiler import CompiledPolicy
from repayguard.core.policy.inputs import json_value
from repayguard.core.policy.outcome import looser
from repayguard.core.policy.semantics import test_value, zen_eval

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
class Alternative:
    """Changing one input from ``before`` to ``after`` gives a less restrictive outcome."""

    input: str
    before: Any
    after: Any
    rule_id: str
    states: dict[str, Any]
    loosens: tuple[str, ...]


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
            "what_would_change": [
                {
                    "input": a.input,
                    "from": json_value(a.before),
                    "to": json_value(a.after),
                    "rule_id": a.rule_id,
                    "states": a.states,
                    "loosens": list(a.loosens),
                }
                for a in self.what_would_change
            ],
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


def _test_text(test: Test) -> str:
    if isinstance(test, Compare):
        return f"{test.op} {_shown(test.value)}"
    if isinstance(test, Interval):
        low = "[" if test.low_closed else "("
        high = "]" if test.high_closed else ")"
        return (
            f"{'not in ' if test.outside else ''}{low}{_shown(test.low)}..{_shown(test.high)}{high}"
        )
    return f"{'not in' if test.negated else 'in'} [{', '.join(_shown(v) for v in test.values)}]"


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
            parts.append(f"{join} {_test_text(test)}: not evaluated")
            continue
        outcome = test_value(test, value)
        parts.append(f"{join} {_step(test, value, outcome)}")
    why = "; ".join(parts)
    if result is None:
        why += " -- ZEN stops on the error, so the cell does not match"
    return CellTrace(name, value, cell.text, verdict, why)


def _step(test: Test, value: Any, outcome: bool | None) -> str:
    if outcome is None:
        return f"{_shown(value)} {_test_text(test)}: error (not a comparable value)"
    return f"{_shown(value)} {_test_text(test)}: {'yes' if outcome else 'no'}"


def explain(
    compiled: CompiledPolicy,
    inputs: Mapping[str, Any],
    *,
    current: Mapping[str, Any] | None = None,
) -> Trace:
    """The trace of deciding ``inputs`` (already in their declared types, see ``inputs.py``).

    ``current`` (the borrower's method states, if any) resolves a ``keep`` outcome.
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
        what_would_change=tuple(alternatives(compiled, inputs, final)),
    )


def _regions(compiled: CompiledPolicy, name: str) -> list[ValueSet]:
    """The values of one input that the policy's cells tell apart, as disjoint regions."""
    spec = compiled.policy.inputs[name]
    regions = [domain(spec)]
    for row in compiled.ir.rows:
        for c in row.cells:
            if c.input != name:
                continue
            matched = cell_set(c.cell, spec)
            split = []
            for region in regions:
                split += [
                    part for part in (region & matched, region - matched) if not part.is_empty()
                ]
            regions = split
    return regions


def _nearest(region: ValueSet, value: Any, input_type: str) -> Any:
    """The value of ``region`` closest to ``value`` (a non-null one), or None if only null."""
    if region.kind != "number" or not region.spans:
        return present(region.sample(), input_type) if not region.is_empty() else None
    if value is None or isinstance(value, bool):
        return present(region.sample(), input_type)
    x = float(value.toordinal()) if isinstance(value, date) else float(value)
    best: float | None = None
    for span in region.spans:
        if (
            span.lo <= x <= span.hi
            and (x != span.lo or span.lo_closed)
            and (x != span.hi or span.hi_closed)
        ):
            return value
        if x < span.lo:
            point = span.lo if span.lo_closed else _inside_near(span.lo, span.hi, up=True)
        else:
            point = span.hi if span.hi_closed else _inside_near(span.hi, span.lo, up=False)
        if best is None or abs(point - x) < abs(best - x):
            best = point
    return present(best, input_type)


def _inside_near(bound: float, other: float, *, up: bool) -> float:
    """A point just inside an open bound: one unit for whole bounds, else the next decimal."""
    text = f"{bound:.10g}"
    decimals = len(text.split(".")[1]) if "." in text else -1
    step = 1.0 if decimals < 0 else 10.0 ** -(decimals + 1)
    point = bound + step if up else bound - step
    within = point < other if up else point > other
    if other in (INF, -INF) or within:
        return point
    return (bound + other) / 2


def alternatives(
    compiled: CompiledPolicy, inputs: Mapping[str, Any], states: Mapping[str, Any]
) -> list[Alternative]:
    """Per input, the smallest single change giving a less restrictive outcome than ``states``;
    sorted smallest change first (numbers by relative change, then other inputs)."""
    found: list[tuple[tuple[int, float], Alternative]] = []
    for name in compiled.inputs_used:
        spec = compiled.policy.inputs[name]
        current = inputs.get(name)
        best: tuple[tuple[int, float], Alternative] | None = None
        for region in _regions(compiled, name):
            candidate = _nearest(replace(region, null=False), current, spec.type)
            if candidate is None or candidate == current:
                continue
            decision = compiled.evaluate_row({**inputs, name: candidate})
            if decision.keep or not looser(decision.states(), states):
                continue
            loosened = tuple(
                m
                for m in ("auto_debit", "early_repayment", "manual")
                if decision.states()[m] != states[m]
                or (m == "manual" and set(decision.manual_channels) != set(states[m + "_channels"]))
            )
            key = _distance(current, candidate)
            alt = Alternative(
                name, current, candidate, decision.rule_id, decision.states(), loosened
            )
            if best is None or key < best[0]:
                best = (key, alt)
        if best is not None:
            found.append(best)
    return [alt for _, alt in sorted(found, key=lambda item: item[0])]


def _distance(before: Any, after: Any) -> tuple[int, float]:
    numeric = (int, float)
    if isinstance(before, numeric) and isinstance(after, numeric) and not isinstance(before, bool):
        return (0, abs(after - before) / max(abs(before), 1.0))
    if isinstance(before, date) and isinstance(after, date):
        return (0, abs((after - before).days) / 365.0)
    return (1, 0.0)
