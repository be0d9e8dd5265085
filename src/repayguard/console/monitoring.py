"""Monitoring page: the portfolio's daily metric series over a date range as charts (overdue
rate by tier, failed debits, roll rates, restricted shares, market signals), the tier
migration matrix as a heatmap, and the sliding-window snapshot."""

from __future__ import annotations

from datetime import date
from typing import Any, Final

import polars as pl
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from repayguard import monitoring
from repayguard.console.web import PREFIX, render
from repayguard.monitoring.endpoints import date_range, monitor_of, reference_label
from repayguard.monitoring.errors import MetricRangeInvalid
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)

_LAYOUT: Final = {
    "margin": {"l": 56, "r": 16, "t": 8, "b": 40},
    "height": 300,
    "legend": {"orientation": "h", "y": -0.2},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "hovermode": "x unified",
}
_PERCENT: Final = {"tickformat": ".1%", "rangemode": "tozero"}
_DAYS: Final = {"type": "date", "tickformat": "%d %b", "dtick": 86_400_000 * 7}
HEADLINES: Final = (
    ("overdue_rate_1p", "Overdue 1+ DPD"),
    ("overdue_rate_30p", "Overdue 30+ DPD"),
    ("failed_autodebit_rate", "Failed auto-debits"),
    ("autodebit_adoption", "Auto-debit adoption"),
    ("restricted_auto_debit_disabled", "Auto-debit disabled"),
    ("restricted_manual_forced", "Manual flow forced"),
    ("notices_per_day", "Notices a day"),
    ("complaints_per_day", "Complaints a day"),
    ("approvals_waiting", "Approvals waiting"),
    ("score_psi", "Score PSI"),
)
"""What the snapshot table shows (segment ``all``), in order."""


def _day(text: str | None, name: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise MetricRangeInvalid(
            f"{name} {text!r} is not a date", hint="write dates as YYYY-MM-DD"
        ) from None


def _lines(
    series: pl.DataFrame, wanted: list[tuple[str, str, str]], *, share: bool
) -> dict[str, Any] | None:
    """A line chart: one trace per (metric, segment, label) with rows; None when none has."""
    traces = []
    for metric, segment, label in wanted:
        rows = series.filter((pl.col("metric") == metric) & (pl.col("segment") == segment))
        if rows.is_empty():
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "lines+markers",
                "name": label,
                "x": [d.isoformat() for d in rows.get_column("day")],
                "y": rows.get_column("value").to_list(),
            }
        )
    if not traces:
        return None
    layout = {**_LAYOUT, "xaxis": _DAYS, "yaxis": _PERCENT if share else {}}
    return {"data": traces, "layout": layout}


def _migration(series: pl.DataFrame) -> dict[str, Any] | None:
    """The range's tier migration as a heatmap: moves from each tier (rows) to each tier
    (columns), as a share of the borrower-days that started in the row's tier."""
    moves = series.filter(pl.col("metric") == "tier_migration")
    if moves.is_empty():
        return None
    pairs = (
        moves.with_columns(pl.col("segment").str.split("->").alias("pair"))
        .with_columns(
            pl.col("pair").list.get(0).alias("was"), pl.col("pair").list.get(1).alias("is")
        )
        .group_by("was", "is")
        .agg(pl.col("numerator").sum())
    )
    totals = dict(pairs.group_by("was").agg(pl.col("numerator").sum()).iter_rows())
    counts = {(w, i): n for w, i, n in pairs.iter_rows()}
    tiers = sorted(set(pairs.get_column("was")) | set(pairs.get_column("is")))
    z = [
        [counts.get((w, i), 0.0) / totals[w] if totals.get(w) else None for i in tiers]
        for w in tiers
    ]
    text = [[f"{v:.1%}" if v is not None else "" for v in row] for row in z]
    return {
        "data": [
            {
                "type": "heatmap",
                "x": tiers,
                "y": tiers,
                "z": z,
                "text": text,
                "texttemplate": "%{text}",
                "colorscale": [[0, "#f4f7fb"], [0.05, "#dce8f5"], [1, "#1f5fa8"]],
                "zmin": 0,
                "zmax": 1,
                "showscale": False,
                "hovertemplate": "%{y} → %{x}: %{text}<extra></extra>",
            }
        ],
        "layout": {
            **_LAYOUT,
            "height": 320,
            "hovermode": "closest",
            "xaxis": {"title": {"text": "to tier (day end)"}, "side": "bottom"},
            "yaxis": {"title": {"text": "from tier (day before)"}, "autorange": "reversed"},
        },
    }


def charts(series: pl.DataFrame) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(element id, title, what it shows, plotly figure as data) for every chart with data."""
    tiers = sorted(
        s
        for s in series.filter(pl.col("metric") == "overdue_rate_30p")
        .get_column("segment")
        .unique()
        if s.startswith("tier=")
    )
    signals = sorted(
        m
        for m in series.get_column("metric").unique()
        if m.startswith(monitoring.MARKET_SIGNAL_PREFIX)
    )
    overdue = [("overdue_rate_30p", "all", "all"), ("overdue_rate_1p", "all", "all, 1+ DPD")]
    overdue += [("overdue_rate_30p", s, s.removeprefix("tier=")) for s in tiers]
    failed = [
        ("failed_autodebit_rate", "all", "all"),
        ("failed_autodebit_rate", "payer=auto_debit", "auto-debit payers"),
    ]
    rolls = [
        ("roll_rate_current_1_29", "all", "current → 1-29"),
        ("roll_rate_1_29_30_59", "all", "1-29 → 30-59"),
        ("roll_rate_30_59_60p", "all", "30-59 → 60+"),
    ]
    restricted = [
        ("restricted_auto_debit_disabled", "all", "auto-debit disabled"),
        ("restricted_auto_debit_mandatory", "all", "auto-debit mandatory"),
        ("restricted_early_repayment", "all", "early repayment restricted"),
        ("restricted_manual_forced", "all", "manual flow forced"),
    ]
    market = [(m, "all", m.removeprefix(monitoring.MARKET_SIGNAL_PREFIX)) for m in signals]
    planned = [
        ("overdue", "Overdue rate (30+ DPD) by tier",
         "Share of the repaying book 30+ days past due at each day end.",
         _lines(series, overdue, share=True)),
        ("failed", "Failed auto-debit rate",
         "Share of each day's auto-debit attempts that failed.",
         _lines(series, failed, share=True)),
        ("rolls", "Roll rates (30 days)",
         "Share of a delinquency bucket 30 days earlier that moved to a worse one.",
         _lines(series, rolls, share=True)),
        ("restricted", "Borrowers restricted per method",
         "Share of decided borrowers whose latest decision restricts the method.",
         _lines(series, restricted, share=True)),
        ("signals", "Market signals", "Each series' last value of the day.",
         _lines(series, market, share=False)),
        ("migration", "Tier migration",
         "Over the range: of the borrowers in a tier the day before, the share in each tier "
         "at day end.",
         _migration(series)),
    ]  # fmt: skip
    return [
        (key, title, note, figure) for key, title, note, figure in planned if figure is not None
    ]


@router.get(f"{PREFIX}/monitoring")
def monitoring_page(
    request: Request, work: UnitsOfWork, start: str | None = None, end: str | None = None
) -> Response:
    """The date-range form, the snapshot table and the charts of the range."""
    first, last = date_range(request, _day(start, "from"), _day(end, "to"))
    monitor = monitor_of(request)
    reference = monitor.score_reference()
    series = monitoring.daily_series(work(), start=first, end=last, score_reference=reference)
    snapshot = monitor.current_snapshot()
    table = [
        (label, [snapshot.value(metric, "all", width) for width in snapshot.windows],
         monitoring.spec_of(metric))
        for metric, label in HEADLINES
    ]  # fmt: skip
    return render(
        request,
        "monitoring.html",
        start=first,
        end=last,
        charts=charts(series),
        snapshot=snapshot,
        table=table,
        reference=reference_label(reference),
    )
