"""``repayguard monitor``: the portfolio's daily metric series over a date range, and the
catalogue of metrics (docs/monitoring.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

import typer
from rich.table import Table

from repayguard.cli.output import console, progress_bar
from repayguard.cli.policy_common import AsJson, DataDir, database, friendly

monitor_app = typer.Typer(help="Portfolio monitoring: metric series, windows, catalogue.")

_DAY_FORMATS: Final = ["%Y-%m-%d"]


@monitor_app.command("metrics")
@friendly
def metrics(
    start: Annotated[
        datetime | None,
        typer.Option(
            "--from",
            formats=_DAY_FORMATS,
            help="First UTC day, YYYY-MM-DD (default: 29 days before --to).",
        ),
    ] = None,
    end: Annotated[
        datetime | None,
        typer.Option("--to", formats=_DAY_FORMATS, help="Last UTC day (default: today)."),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric", help="Only this metric (repeatable; market_signal:* for all series)."
        ),
    ] = None,
    segment: Annotated[
        list[str] | None,
        typer.Option(
            "--segment", help="Only this segment (repeatable): all, tier=T3, payer=manual, T2->T3."
        ),
    ] = None,
    data_dir: DataDir = None,
    as_json: AsJson = False,
) -> None:
    """The daily series of the portfolio metrics over a date range, one row per metric,
    segment and day."""
    import polars as pl

    from repayguard import monitoring
    from repayguard.monitoring.series import chunks

    last = end.date() if end else datetime.now(UTC).date()
    chunks(last, last)  # a day off the calendar is refused before any arithmetic on it
    first = start.date() if start else last - timedelta(days=29)
    spans = chunks(first, last)
    with database(data_dir) as built:
        assert built.monitor is not None  # bootstrap always wires it
        reference = built.monitor.score_reference()
        with progress_bar("Computing", total=len(spans), unit="spans", quiet=as_json) as bar:
            series = monitoring.daily_series(
                built.uow(),
                start=first,
                end=last,
                metrics=metric,
                score_reference=reference,
                on_chunk=lambda *_: bar.advance(1),
            )
    if segment:
        series = series.filter(pl.col("segment").is_in(segment))
    source = reference.source if reference else monitoring.BASELINE_SOURCE
    if as_json:
        body = {"start": first, "end": last, "psi_reference": source, "points": series.to_dicts()}
        typer.echo(json.dumps(body, default=str, ensure_ascii=False))
        return
    table = Table(title=f"Portfolio metrics {first} … {last}", title_justify="left")
    for name in ("metric", "segment", "day"):
        table.add_column(name)
    for name in ("value", "numerator", "denominator"):
        table.add_column(name, justify="right")
    for row in series.iter_rows(named=True):
        table.add_row(
            row["metric"], row["segment"], str(row["day"]), f"{row['value']:.4g}",
            f"{row['numerator']:,.4g}", f"{row['denominator']:,.4g}",
        )  # fmt: skip
    console.print(table)
    if series.is_empty():
        console.print(
            "No rows: nothing was ingested or decided in that range. Ingest events "
            "('repayguard ingest FILE') and decide ('repayguard decide --all'), "
            "or widen --from/--to."
        )
    else:
        console.print(f"[dim]score_psi compares with {source}. 'repayguard monitor catalogue' "
                      "defines each metric.[/dim]")  # fmt: skip


@monitor_app.command("catalogue")
@friendly
def catalogue(as_json: AsJson = False) -> None:
    """Every metric: what it measures, its unit and whether higher is worse."""
    from repayguard.monitoring import METRICS

    if as_json:
        rows = [
            {"name": s.name, "description": s.description, "unit": s.unit,
             "higher_is_worse": s.higher_is_worse}
            for s in METRICS.values()
        ]  # fmt: skip
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    table = Table(title="Portfolio metrics", title_justify="left")
    for name in ("metric", "unit", "higher is worse", "definition"):
        table.add_column(name, overflow="fold")
    worse = {True: "yes", False: "no", None: "—"}
    for spec in METRICS.values():
        table.add_row(spec.name, spec.unit, worse[spec.higher_is_worse], spec.description)
    console.print(table)
