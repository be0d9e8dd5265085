"""Rich tables of ``repayguard policy``: problems, diffs, impact, traces and versions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from rich.table import Table

from repayguard.core.policy import PolicyProblem
from repayguard.core.policy.counterfactual import WHY_NONE
from repayguard.core.policy.diff import PolicyDiff
from repayguard.core.policy.explain import Trace
from repayguard.core.policy.impact import ImpactReport
from repayguard.core.policy.inputs import json_value
from repayguard.core.policy.outcome import METHODS
from repayguard.policies import VersionInfo


def _short(value: Any) -> str:
    if value is None:
        return "[dim]-[/dim]"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def problems_table(problems: Sequence[PolicyProblem], *, title: str) -> Table:
    table = Table(title=title, title_justify="left", show_lines=True)
    table.add_column("row", no_wrap=True)
    table.add_column("field", no_wrap=True)
    table.add_column("problem", overflow="fold")
    table.add_column("counter-example", overflow="fold")
    for p in problems:
        example = p.example_json()
        table.add_row(
            p.row_id or "[dim](policy)[/dim]",
            p.field,
            p.message,
            json.dumps(example, ensure_ascii=False) if example else "",
        )
    return table


def diff_tables(found: PolicyDiff) -> list[Table]:
    """One table of document-level changes and one of row changes."""
    tables = []
    fields = [*found.document, *found.inputs, *found.channels]
    if fields:
        table = Table(title="Policy", title_justify="left")
        table.add_column("field")
        table.add_column("before", overflow="fold")
        table.add_column("after", overflow="fold")
        for change in fields:
            table.add_row(change.field, _short(change.before), _short(change.after))
        tables.append(table)
    if found.rows:
        colour = {"added": "green", "removed": "red", "changed": "yellow", "moved": "cyan"}
        table = Table(title="Rows", title_justify="left", show_lines=True)
        table.add_column("row")
        table.add_column("change")
        table.add_column("position")
        table.add_column("field")
        table.add_column("before", overflow="fold")
        table.add_column("after", overflow="fold")
        for row in found.rows:
            where = f"{_short(row.before_position)} → {_short(row.after_position)}"
            kind = f"[{colour[row.kind]}]{row.kind}[/{colour[row.kind]}]"
            changes = row.changes or ()
            if not changes:
                table.add_row(row.row_id, kind, where, "", "", "")
            for k, change in enumerate(changes):
                table.add_row(
                    row.row_id if k == 0 else "",
                    kind if k == 0 else "",
                    where if k == 0 else "",
                    change.field,
                    _short(change.before),
                    _short(change.after),
                )
        tables.append(table)
    return tables


def impact_tables(report: ImpactReport) -> list[Table]:
    """Moves per method, per tier, the state transitions, and sample borrowers."""
    methods = Table(title="Borrowers whose methods would change", title_justify="left")
    methods.add_column("method")
    methods.add_column("tighten", justify="right", style="red")
    methods.add_column("loosen", justify="right", style="green")
    for m in METHODS:
        methods.add_row(
            m, f"{report.by_method[m]['tighten']:,}", f"{report.by_method[m]['loosen']:,}"
        )
    tiers = Table(title="By tier", title_justify="left")
    tiers.add_column("tier")
    tiers.add_column("borrowers", justify="right")
    tiers.add_column("changed", justify="right")
    for m in METHODS:
        tiers.add_column(f"{m}\n↑ / ↓", justify="right")
    for row in report.by_tier:
        tiers.add_row(
            str(row["tier"]),
            f"{row['borrowers']:,}",
            f"{row['changed']:,}",
            *(f"{row[f'{m}_tighten']:,} / {row[f'{m}_loosen']:,}" for m in METHODS),
        )
    moves = Table(title="Transitions", title_justify="left")
    for name in ("method", "from", "to", "direction", "borrowers"):
        moves.add_column(name, justify="right" if name == "borrowers" else "left")
    for t in report.transitions:
        moves.add_row(t["method"], t["from"], t["to"], t["direction"], f"{t['borrowers']:,}")
    samples = Table(title="Sample borrowers", title_justify="left", show_lines=True)
    for name in ("borrower", "tier", "rule", "changes", "reasons"):
        samples.add_column(name, overflow="fold")
    for s in report.samples:
        moved = "; ".join(
            f"{c['method']}: {c['from']} → {c['to']} ({c['direction']})" for c in s["changes"]
        )
        samples.add_row(
            s["borrower_id"], str(s["tier"]), s["rule_id"], moved, ", ".join(s["reasons"])
        )
    return [methods, tiers, moves, samples]


def trace_tables(trace: Trace) -> list[Table]:
    """Inputs, rows tested with each cell's verdict, and what would change the outcome."""
    inputs = Table(title="Inputs", title_justify="left")
    inputs.add_column("input")
    inputs.add_column("value")
    for name, value in trace.inputs.items():
        inputs.add_row(name, _short(json_value(value)))
    rows = Table(title="Rows tested", title_justify="left", show_lines=True)
    rows.add_column("row", no_wrap=True)
    rows.add_column("status", no_wrap=True)
    rows.add_column("cells", overflow="fold")
    style = {
        "decided": "bold green",
        "matched": "green",
        "not matched": "dim",
        "not reached": "dim",
    }
    for r in trace.rows:
        cells = "\n".join(f"{c.input} {c.cell!r}: {c.verdict} ({c.why})" for c in r.cells)
        rows.add_row(r.row_id, f"[{style[r.status]}]{r.status}[/{style[r.status]}]", cells or "-")
    changes = Table(
        title="What would change the outcome (smallest change first; actionable inputs only)",
        title_justify="left",
        caption=WHY_NONE[trace.why_none]["en"] if trace.why_none else None,
    )
    for name in ("change", "row", "loosens"):
        changes.add_column(name)
    for a in trace.what_would_change:
        changes.add_row(
            "\n".join(
                f"{c.input}: {_short(json_value(c.before))} → {_short(json_value(c.after))}"
                for c in a.changes
            ),
            a.rule_id,
            ", ".join(a.loosens),
        )
    return [inputs, rows, changes]


def versions_table(items: Sequence[VersionInfo], *, total: int) -> Table:
    table = Table(title=f"Published policy versions ({total:,})", title_justify="left")
    for name in (
        "name",
        "version",
        "jurisdiction",
        "hit policy",
        "rows",
        "published by",
        "published at",
        "content hash",
    ):
        table.add_column(name)
    for v in items:
        table.add_row(
            v.name,
            str(v.version),
            v.jurisdiction,
            v.hit_policy,
            str(v.rows),
            v.published_by,
            f"{v.published_at:%Y-%m-%d %H:%M} UTC",
            v.content_hash[:16] + "…",
        )
    return table
