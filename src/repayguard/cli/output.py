"""Shared CLI output: the console, progress bars and the tables several commands print."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from repayguard.ingestion import FilesReport

if TYPE_CHECKING:
    from repayguard.decisions import DecisionRunReport

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


def print_json(document: Any) -> None:
    """One JSON document on stdout for ``--json``: dates and times ISO-8601, paths and decimals
    as strings (progress, warnings and hints go to stderr, so stdout parses as one document)."""
    typer.echo(json.dumps(document, ensure_ascii=False, default=_json_value))


def _json_value(value: Any) -> Any:
    if isinstance(value, date):  # datetime is a date
        return value.isoformat()
    if isinstance(value, Path | Decimal):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Bar:
    """One progress bar: ``advance(n)`` by some units, or ``set(done)`` to an absolute count."""

    def __init__(self, progress: Progress, task: TaskID) -> None:
        self._progress = progress
        self._task = task

    def advance(self, amount: int) -> None:
        self._progress.advance(self._task, amount)

    def set(self, done: int) -> None:
        self._progress.update(self._task, completed=done)


@contextmanager
def progress_bar(
    description: str, total: int | None, unit: str, *, quiet: bool = False
) -> Iterator[Bar]:
    """A progress bar for long work (hidden when ``quiet``)."""
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=errors if quiet else console,
        transient=False,
        disable=quiet,
    )
    with progress:
        yield Bar(progress, progress.add_task(description, total=total))


def when(moment: datetime | None) -> str:
    """A moment as tables show it (to the minute), or a dash for none."""
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def record_table(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    """One record as a table without a header: each field's name in bold, then its value
    (long values fold onto further lines)."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def ingest_table(report: FilesReport, seconds: float) -> Table:
    table = Table(title="Ingestion", title_justify="left")
    table.add_column("files", justify="right")
    table.add_column("accepted", justify="right", style="green")
    table.add_column("duplicates", justify="right", style="yellow")
    table.add_column("rejected", justify="right", style="red")
    table.add_column("events/s", justify="right")
    total = report.accepted + report.duplicates + report.rejected
    table.add_row(
        f"{report.files:,}",
        f"{report.accepted:,}",
        f"{report.duplicates:,}",
        f"{report.rejected:,}",
        f"{total / seconds:,.0f}" if seconds > 0 else "-",
    )
    return table


def report_json(report: FilesReport, limit: int = 100) -> dict[str, Any]:
    """The import outcome for scripts: totals and the first ``limit`` rejections."""
    return {
        "files": report.files,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "rejections": [
            {
                "file": name,
                "index": r.index,
                "event_id": r.event_id,
                "errors": [{"field": e.field, "reason": e.reason} for e in r.errors],
            }
            for name, r in report.rejections[:limit]
        ],
    }


def run_json(run: DecisionRunReport) -> dict[str, Any]:
    """A decision run for scripts: its id, as-of time, counts, lineage and the per-tier
    summary (the rows ``summary_table`` shows)."""
    return {
        "run_id": run.run_id,
        "as_of": run.as_of,
        "borrowers": run.borrowers,
        "changed": run.changed,
        "tightened": run.tightened,
        "loosened": run.loosened,
        "held": run.held,
        "lineage": run.lineage,
        "summary": run.summary.to_dicts(),
    }


def rejections_table(report: FilesReport, limit: int = 10) -> Table:
    table = Table(title=f"Rejected records (first {limit})", title_justify="left")
    table.add_column("file")
    table.add_column("index", justify="right")
    table.add_column("event_id")
    table.add_column("field")
    table.add_column("reason")
    for name, rejection in report.rejections[:limit]:
        first = rejection.errors[0]
        more = f" (+{len(rejection.errors) - 1} more)" if len(rejection.errors) > 1 else ""
        table.add_row(
            name, str(rejection.index), rejection.event_id or "-", first.field, first.reason + more
        )
    return table


def summary_table(summary: pl.DataFrame, *, title: str) -> Table:
    """Borrowers per tier and the method states the policy gave them."""
    table = Table(title=title, title_justify="left")
    for name in (
        "tier",
        "borrowers",
        "mean PD",
        "auto-debit\ndisabled",
        "auto-debit\nmandatory",
        "early repay\nrestricted",
        "manual\nforced",
    ):
        table.add_column(name, justify="right")
    total = summary.get_column("borrowers").sum()
    for row in summary.iter_rows(named=True):
        table.add_row(
            f"T{row['tier']}",
            f"{row['borrowers']:,} ({row['borrowers'] / total:.0%})",
            f"{row['mean_pd']:.2%}",
            _count(row["auto_debit_disabled"]),
            _count(row["auto_debit_mandatory"]),
            _count(row["early_restricted"]),
            _count(row["manual_forced"]),
        )
    return table


def _count(value: int) -> str:
    return f"{value:,}" if value else "[dim]0[/dim]"


def warn_overrides(overrides: Iterable[str]) -> None:
    """A visible warning (on stderr, so --json output stays clean) for each development
    override deciding instead of the policy store: its decisions say 'unpublished'."""
    for override in overrides:
        errors.print(
            f"[bold yellow]WARNING[/bold yellow] development override in effect ({override}): "
            "decisions made here are stamped 'unpublished' and were approved by nobody. "
            "Production refuses it; publish through maker-checker instead.",
            soft_wrap=True,
        )


def lineage_line(lineage: dict[str, str]) -> str:
    """Which policy, bands and model decided a run, in one line."""
    version = lineage.get("policy_version", "?")
    named = "unpublished file" if version == "unpublished" else f"version {version}"
    return (
        f"Policy [bold]{lineage.get('policy_name', '?')}[/bold] {named} "
        f"(hash {lineage.get('policy_hash', '?')[:16]}…), bands {lineage.get('bands_version')}, "
        f"model {lineage.get('model_version')}."
    )
