"""The simulated calendar (days, days of month, month starts) and the shared market series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np
from numpy.typing import NDArray

from repayguard.simulation.spec import PortfolioSpec

DAY_US: Final = 86_400_000_000
HOUR_US: Final = 3_600_000_000
MARKET_SERIES: Final = ("funding_spread", "unemployment_rate")
"""Market series names, in the order their event ids sort (alphabetical)."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """Day ``t`` starts ``t`` days after ``start``; month ``m`` is a calendar month."""

    start_us: int
    """``start`` as microseconds since the Unix epoch (UTC)."""
    day_of_month: NDArray[np.int8]
    """Calendar day of month of each simulated day."""
    month_of_day: NDArray[np.int16]
    """Index of the calendar month (0 = the month holding ``start``) of each day."""
    month_start_day: NDArray[np.int32]
    """Day index on which month ``m`` begins (month 0 begins on day 0)."""

    @property
    def days(self) -> int:
        """Number of simulated days."""
        return int(self.day_of_month.size)


def _add_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    # Clamp the day so 31 January + 1 month is the last day of February.
    day = moment.day
    while True:
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            day -= 1


def build_calendar(spec: PortfolioSpec) -> Calendar:
    """Lay out the window: ``months`` calendar months from ``spec.start``, day by day."""
    start = spec.start.astimezone(UTC)
    bounds = [_add_months(start, m) for m in range(spec.months + 1)]
    days = (bounds[-1] - start).days
    dates = [start + timedelta(days=t) for t in range(days)]
    month_start = np.array([(b - start).days for b in bounds[:-1]], dtype=np.int32)
    month_of_day = np.searchsorted(month_start, np.arange(days), side="right") - 1
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    start_us = (start - epoch) // timedelta(microseconds=1)
    return Calendar(
        start_us=start_us,
        day_of_month=np.array([d.day for d in dates], dtype=np.int8),
        month_of_day=month_of_day.astype(np.int16),
        month_start_day=month_start,
    )


@dataclass(frozen=True, slots=True)
class Market:
    """Monthly market series shared by every borrower (drawn once from the root seed)."""

    unemployment_rate: NDArray[np.float64]
    """Unemployment rate (%) per month; scales every borrower's job-loss hazard."""
    funding_spread: NDArray[np.float64]
    """The lender's funding spread (percentage points) per month; context only."""

    def job_loss_multiplier(self, base_rate: float) -> NDArray[np.float64]:
        """Hazard multiplier per month: job losses rise faster than unemployment itself."""
        multiplier: NDArray[np.float64] = (self.unemployment_rate / base_rate) ** 1.5
        return multiplier


def draw_market(spec: PortfolioSpec, seed: np.random.SeedSequence) -> Market:
    """An AR(1) unemployment path around its start value plus an optional stress drift.

    The funding spread follows unemployment (credit spreads widen in downturns) plus noise.
    """
    rng = np.random.default_rng(seed)
    months = spec.months
    shocks = rng.normal(0.0, 0.12, size=months)
    spread_noise = rng.normal(0.0, 0.08, size=months)
    unemployment = np.empty(months, dtype=np.float64)
    level = spec.unemployment_rate
    for m in range(months):
        target = spec.unemployment_rate + spec.unemployment_drift * m / 12.0
        level = level + 0.25 * (target - level) + shocks[m] if m else level
        unemployment[m] = max(level, 0.5)
    spread = 1.6 + 0.35 * (unemployment - spec.unemployment_rate) + spread_noise
    return Market(
        unemployment_rate=np.round(unemployment, 2),
        funding_spread=np.maximum(spread, 0.05).round(3),
    )
