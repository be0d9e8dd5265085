"""Sliding windows kept current: the portfolio's metrics over the last 1, 7 and 30 days,
recomputed from the store when messages say the portfolio changed.

Kept by recompute, not by incremental counters: days past due, tiers and roll rates are
states of each borrower at each day's end, and one back-dated event or re-decision changes
them for every later day — an incremental update would need the same per-borrower history a
recompute reads. A message only marks the snapshot stale (cheap, so the bus's delivery to the
decision and notice consumers is never slowed); the next read recomputes the 30-day series
once, at most once per ``refresh_seconds``, however many messages arrived in between
(docs/monitoring.md has the measured cost).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Final

import polars as pl
from pydantic import Field

from repayguard import decisions, entitlements, ingestion
from repayguard.monitoring.psi import ScoreReference
from repayguard.monitoring.series import daily_series
from repayguard.platform.clock import Clock
from repayguard.platform.messages import Fact, Message
from repayguard.platform.uow import UnitOfWork

WINDOWS: Final = (1, 7, 30)
"""The sliding windows, in days, each ending with today (UTC)."""
FOLLOWED: Final[tuple[type[Fact], ...]] = (
    ingestion.EventsIngested,
    entitlements.EntitlementsChanged,
    decisions.RunCompleted,
)
"""The messages after which the snapshot is stale."""


@dataclass(frozen=True, slots=True)
class WindowValue:
    """One metric in one segment over the last ``window_days`` days (Σ numerator / Σ
    denominator of its daily rows; for counts and values the daily mean)."""

    metric: Annotated[str, Field(description="The metric.")]
    segment: Annotated[str, Field(description="The borrower segment (all for the whole book).")]
    window_days: Annotated[int, Field(description="The window, in days.")]
    value: Annotated[float, Field(description="The metric over the window.")]
    numerator: Annotated[float, Field(description="Σ of the daily numerators (for rates).")]
    denominator: Annotated[float, Field(description="Σ of the daily denominators (for rates).")]


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    """The portfolio's metrics over sliding windows ending ``day``, computed at ``computed_at``."""

    day: date
    computed_at: datetime
    windows: tuple[int, ...]
    values: tuple[WindowValue, ...]

    def value(self, metric: str, segment: str = "all", window_days: int = 1) -> float | None:
        """The value of (metric, segment) over a window; None when it had no rows."""
        for v in self.values:
            if (v.metric, v.segment, v.window_days) == (metric, segment, window_days):
                return v.value
        return None


def window_values(
    series: pl.DataFrame, *, day: date, windows: Sequence[int] = WINDOWS
) -> tuple[WindowValue, ...]:
    """Each (metric, segment) of a daily series over each window ending ``day``, pure."""
    out: list[WindowValue] = []
    for width in windows:
        since = day - timedelta(days=width - 1)
        summed = (
            series.filter(pl.col("day").is_between(since, day))
            .group_by("metric", "segment")
            .agg(pl.col("numerator").sum(), pl.col("denominator").sum())
            .filter(pl.col("denominator") > 0)
            .sort("metric", "segment")
        )
        out.extend(
            WindowValue(metric, segment, width, num / den, num, den)
            for metric, segment, num, den in summed.iter_rows()
        )
    return tuple(out)


class PortfolioMonitor:
    """Holds the latest ``PortfolioSnapshot`` of this process and knows when it is stale.

    ``on_message`` is what the bus follows; ``current_snapshot`` answers from the held
    snapshot while it is fresh, else recomputes (one caller at a time; the others wait and
    get the same new snapshot).
    """

    def __init__(
        self,
        *,
        uow: Callable[[], UnitOfWork],
        clock: Clock,
        refresh: timedelta,
        score_reference: Callable[[], ScoreReference | None] = lambda: None,
        windows: Sequence[int] = WINDOWS,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._refresh = refresh
        self._reference = score_reference
        self._windows = tuple(windows)
        self._lock = threading.Lock()
        self._stale = True
        self._snapshot: PortfolioSnapshot | None = None

    def score_reference(self) -> ScoreReference | None:
        """The bins score_psi compares with now (the production model's, if any)."""
        return self._reference()

    def on_message(self, message: Message) -> None:
        """The portfolio changed (events, entitlements or a decision run): recompute on the
        next read."""
        self._stale = True

    def current_snapshot(self) -> PortfolioSnapshot:
        """The sliding-window metrics as of now (recomputed when stale and older than the
        refresh interval, or when the day has turned)."""
        with self._lock:
            now = self._clock.now()
            held = self._snapshot
            fresh = held is not None and (not self._stale or now - held.computed_at < self._refresh)
            if held is not None and fresh and held.day == now.date():
                return held
            self._stale = False  # messages arriving during the recompute mark it again
            day = now.date()
            series = daily_series(
                self._uow(),
                start=day - timedelta(days=max(self._windows) - 1),
                end=day,
                score_reference=self.score_reference(),
            )
            self._snapshot = PortfolioSnapshot(
                day=day,
                computed_at=now,
                windows=self._windows,
                values=window_values(series, day=day, windows=self._windows),
            )
            return self._snapshot


@dataclass(frozen=True, slots=True)
class PortfolioGauges:
    """The monitor's latest day as Prometheus gauges: (metric, segment, value) for every
    metric and segment of the 1-day window (``/metrics``' ``repayguard_portfolio``)."""

    monitor: PortfolioMonitor
    window_days: int = 1

    def snapshot(self) -> list[tuple[str, str, float]]:
        current = self.monitor.current_snapshot()
        return [
            (v.metric, v.segment, v.value)
            for v in current.values
            if v.window_days == self.window_days
        ]
