"""``repayguard monitor``: the portfolio's daily metric series over a date range, and the
catalogue of metrics (docs/monitoring.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import typer
from rich.table import Table

from repayguard.cli.output import console, progress_bar
from repayguard.cli.shared import AsJson, DataDir, friendly, open_container

if TYPE_CHECKING:
    from repayguard.cli.monitor.stress import StressReport

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
    with open_container(data_dir) as built:
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


@monitor_app.command("stress")
@friendly
def stress(
    borrowers: Annotated[int, typer.Option(min=20, help="Borrowers in the synthetic book.")] = 400,
    seed: Annotated[int, typer.Option(help="Random seed of the book and the series.")] = 7,
    history_days: Annotated[
        int, typer.Option(min=30, max=720, help="Days of book before the watch.")
    ] = 120,
    watch_days: Annotated[int, typer.Option(min=2, max=90, help="Days replayed one by one.")] = 12,
    shock_after: Annotated[
        int, typer.Option(min=1, help="The shock starts this many days into the watch.")
    ] = 5,
    jump: Annotated[
        float, typer.Option(help="Points the unemployment rate jumps by at the shock.")
    ] = 1.5,
    stressed_share: Annotated[
        float, typer.Option(help="Riskiest share of the book that stops paying at the shock.")
    ] = 0.3,
    warmup_days: Annotated[
        int, typer.Option(min=7, help="Warm-up days of every chart (the shipped file: 90).")
    ] = 28,
    lookback_days: Annotated[
        int, typer.Option(help="Days each detection run charts (at most --history-days).")
    ] = 60,
    work_dir: Annotated[
        Path | None,
        typer.Option(
            "--work-dir", help="Scratch folder, emptied first (default: a temporary one)."
        ),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Replay a market shock through a synthetic book: ingest, decisions, detectors and the
    market-stress playbook day by day; print the detection delay and who was tightened when."""
    import shutil
    import tempfile
    from dataclasses import asdict

    from repayguard.cli.monitor.stress import StressScenario, run_stress

    try:
        scenario = StressScenario(
            borrowers=borrowers,
            seed=seed,
            history_days=history_days,
            watch_days=watch_days,
            shock_after=shock_after,
            unemployment_jump=jump,
            stressed_share=stressed_share,
            warmup_days=warmup_days,
            lookback_days=lookback_days,
        )
    except ValueError as exc:  # the scenario's own checks, in its words
        raise typer.BadParameter(str(exc)) from exc
    with tempfile.TemporaryDirectory(prefix="repayguard-stress-") as scratch:
        folder = work_dir or Path(scratch)
        if work_dir is not None and work_dir.exists():
            shutil.rmtree(work_dir)
        with progress_bar("Replaying", total=watch_days, unit="days", quiet=as_json) as bar:
            report = run_stress(scenario, folder, on_day=lambda _: bar.advance(1))
    if as_json:
        typer.echo(json.dumps(asdict(report), default=str, ensure_ascii=False))
        return
    print_stress(report)


def print_stress(report: StressReport) -> None:
    """The stress test's tables: incidents with their delay, overlays, who was tightened."""
    s = report.scenario
    console.print(
        f"Book: {s.borrowers:,} borrowers (seed {s.seed}), {report.events:,} events; watch "
        f"{s.watch_start} + {s.watch_days} days; shock on {s.shock_day}: unemployment "
        f"+{s.unemployment_jump} points, the riskiest {report.stressed} borrowers stop paying."
    )
    console.print(f"[dim]{report.thresholds_note}.[/dim]")
    table = Table(title="Incidents opened", title_justify="left")
    for name in ("metric", "segment", "detector", "since", "opened after day", "delay"):
        table.add_column(name)
    table.add_column("deviation σ", justify="right")
    for i in report.incidents:
        delay = f"{i.delay_days} d" if i.delay_days > 0 else "before the shock"
        table.add_row(
            i.metric, i.segment, i.detector, str(i.since), str(i.opened_on), delay,
            f"{i.deviation_sigma:+.1f}",
        )  # fmt: skip
    console.print(table)
    for o in report.overlays:
        tiers: dict[int, int] = {}
        for t in o.tightened:
            tiers[t.tier] = tiers.get(t.tier, 0) + 1
        by_tier = ", ".join(f"T{k}: {v}" for k, v in sorted(tiers.items())) or "nobody"
        denied = sum(1 for t in o.tightened if not t.authorize_allowed)
        worst = max((t.authorize_microseconds for t in o.tightened), default=0.0)
        ending = (
            f"{o.state} at {_at(o.ended_at)}: {o.restored} of {len(o.tightened)} "
            f"restored, {o.notices_at_end} notices to them"
            if o.ended_at
            else "still in force when the replay stopped"
        )
        console.print(
            f"Overlay [bold]{o.overlay_id}[/bold] armed by {o.armed_by} at {_at(o.armed_at)}: "
            f"tightened {len(o.tightened)} of the {o.in_segment} borrowers in T4-T5 "
            f"({by_tier}) at once; authorize denied early repayment to {denied} of them "
            f"(slowest answer {worst:.0f} µs); "
            f"{o.notices_at_arming} explanation notices. Review due {_at(o.review_due_at)} "
            f"(nobody reviews in the replay), expiry {_at(o.expires_at)}; ended {ending}.",
            highlight=False,
        )
        sample = Table(title="Tightened (first 10)", title_justify="left")
        for name in ("borrower", "tier", "at", "early repayment", "auto-debit", "authorize"):
            sample.add_column(name)
        for t in o.tightened[:10]:
            answer = (
                "allowed"
                if t.authorize_allowed
                else "denied: " + ", ".join(t.authorize_reasons[:2])
            )
            sample.add_row(
                t.borrower_id, f"T{t.tier}", _at(t.at), t.early_repayment,
                t.auto_debit, answer,
            )  # fmt: skip
        console.print(sample)
    if not report.overlays:
        console.print("No overlay was armed: no incident matched the playbook's arm_on.")
    broken = len(report.g1_violations) + len(report.profile_violations)
    console.print(
        f"Guardrails: {report.decisions_checked:,} latest decisions checked after every pass; "
        f"{len(report.g1_violations)} break G1, {len(report.profile_violations)} break the "
        f"jurisdiction profile. {report.seconds:.0f} s."
        + (" [red]Investigate the decisions listed with --json.[/red]" if broken else "")
    )


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M}"
