"""HTTP endpoints of portfolio monitoring: thin, they call ``daily_series`` and the process's
``PortfolioMonitor`` like ``repayguard monitor`` and the console page do.

Wiring read from ``app.state``: ``uow`` (unit-of-work factory), ``clock``, ``container``
(its ``monitor``).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Final

import polars as pl
from fastapi import APIRouter, Query, Request

from repayguard.errors import NotReady
from repayguard.monitoring.errors import MetricRangeInvalid
from repayguard.monitoring.psi import BASELINE_SOURCE, ScoreReference
from repayguard.monitoring.schemas import SeriesRead, SnapshotRead
from repayguard.monitoring.series import chunks, daily_series
from repayguard.monitoring.snapshot import PortfolioMonitor
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["monitoring"])

DEFAULT_DAYS: Final = 30
"""A range without a start covers this many days up to its end."""
MAX_API_DAYS: Final = 366
"""The longest range one HTTP request may ask for (longer: the CLI, in chunks)."""


def monitor_of(request: Request) -> PortfolioMonitor:
    """The process's monitor (built by bootstrap)."""
    monitor: PortfolioMonitor | None = request.app.state.container.monitor
    if monitor is None:
        raise NotReady("portfolio monitoring is not wired in this process")
    return monitor


def date_range(request: Request, start: date | None, end: date | None) -> tuple[date, date]:
    """[start, end], defaulting to the last DEFAULT_DAYS days up to today (UTC)."""
    last = end or request.app.state.clock.now().date()
    chunks(last, last)  # a day off the calendar is refused before any arithmetic on it
    first = start or last - timedelta(days=DEFAULT_DAYS - 1)
    chunks(first, last)  # a reversed range too
    if (last - first).days + 1 > MAX_API_DAYS:
        raise MetricRangeInvalid(
            f"one request covers at most {MAX_API_DAYS} days",
            hint="ask for consecutive shorter ranges, or use 'repayguard monitor metrics'",
        )
    return first, last


def reference_label(reference: ScoreReference | None) -> str:
    return BASELINE_SOURCE if reference is None else reference.source


@router.get("/v1/monitoring/metrics")
def metric_series(
    request: Request,
    work: UnitsOfWork,
    start: date | None = None,
    end: date | None = None,
    metric: Annotated[list[str] | None, Query(max_length=64)] = None,
    segment: Annotated[list[str] | None, Query(max_length=64)] = None,
) -> SeriesRead:
    """The daily series of the portfolio metrics over [start, end] (default: the last 30
    days), limited to the named metrics and segments when given (docs/monitoring.md)."""
    first, last = date_range(request, start, end)
    reference = monitor_of(request).score_reference()
    series = daily_series(work(), start=first, end=last, metrics=metric, score_reference=reference)
    if segment:
        series = series.filter(pl.col("segment").is_in(segment))
    return SeriesRead.of(series, start=first, end=last, reference=reference_label(reference))


@router.get("/v1/monitoring/snapshot")
def snapshot(request: Request) -> SnapshotRead:
    """The portfolio metrics over the last 1, 7 and 30 days, kept current from the bus."""
    return SnapshotRead.of(monitor_of(request).current_snapshot())
