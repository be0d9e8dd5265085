"""The market-shock stress test: a synthetic book replayed day by day through ingest, decisions,
the detectors and the emergency playbooks (``repayguard monitor stress``, docs/monitoring.md).

The scenario, in a scratch data folder with a fixed clock moved one day at a time:

1. ``simulation.generate_portfolio`` writes ``history_days`` of book before the watch plus the
   watch itself; the generator's monthly unemployment signal is replaced by a daily one
   (Normal(base, 0.05) points), so the market chart has a point a day.
2. From the shock day on, unemployment jumps by ``unemployment_jump`` points and the riskiest
   ``stressed_share`` of the book (by the generator's latent risk) stops paying: their
   auto-debit attempts fail and their payments stop (``shock_events``, pure).
3. The shipped ``market-stress`` playbook is submitted by one operator and approved by another
   (maker-checker) before the watch starts.
4. Each watched day: the day's events are ingested, every borrower is decided as of the day's
   end, and one worker pass runs the jobs (``monitoring.detect`` charting the real
   ``daily_series``, ``overlays.expire``, notices). An incident arms the playbook through the
   bus exactly as in production; nobody reviews the overlay, so it lapses at its review deadline
   and the segment is decided again without it.

Thresholds: the shipped file needs a 90-day warm-up per chart; the scenario writes its own
(``stress_thresholds``) with a ``warmup_days`` warm-up over a ``lookback_days`` window and a
minimum denominator fitted to a small book, and reports that it did.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Final

import numpy as np
import polars as pl

STRESSED_PAYMENTS: Final = ("paid",)
"""Repayment kinds a stressed borrower no longer makes from the shock on."""
MAKER, REQUESTER, CHECKER = "stress-maker", "stress-requester", "stress-checker"
PLAYBOOK: Final = "market-stress"
SIGNAL: Final = "unemployment_rate"


@dataclass(frozen=True, slots=True)
class StressScenario:
    """One market-shock replay: the book, the watch, the shock and the detectors' warm-up."""

    borrowers: int = 400
    seed: int = 7
    watch_start: date = date(2026, 3, 1)
    """First watched day (UTC); the generated book starts ``history_days`` earlier."""
    history_days: int = 120
    """Days of book ingested before the watch, so instalments have fallen due and roll."""
    watch_days: int = 12
    """Days replayed one at a time through ingest, decisions and the worker."""
    shock_after: int = 5
    """The shock's first day is this many days after ``watch_start``."""
    unemployment_base: float = 5.0
    unemployment_jump: float = 1.5
    """Points the unemployment rate jumps by on the shock day (noise: 0.05 points a day)."""
    stressed_share: float = 0.3
    """Riskiest share of the book whose debits fail and payments stop from the shock on."""
    warmup_days: int = 28
    lookback_days: int = 60
    min_denominator: int = 20

    def __post_init__(self) -> None:
        if self.borrowers < 20:
            raise ValueError("a stress test needs at least 20 borrowers")
        if not 0 < self.shock_after < self.watch_days:
            raise ValueError("the shock must start within the watch (0 < shock_after < watch_days)")
        if self.history_days < self.lookback_days:
            raise ValueError("history_days must cover lookback_days so the charts have warm-up")
        if not 7 <= self.warmup_days < self.lookback_days:
            raise ValueError("warmup_days must be at least 7 and fewer than lookback_days")
        if not 0.0 < self.stressed_share <= 1.0:
            raise ValueError("stressed_share must be within (0, 1]")
        if self.unemployment_jump <= 0:
            raise ValueError("unemployment_jump must be positive (the shock raises it)")

    @property
    def shock_day(self) -> date:
        return self.watch_start + timedelta(days=self.shock_after)

    @property
    def book_start(self) -> datetime:
        day = self.watch_start - timedelta(days=self.history_days)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class IncidentSeen:
    """An incident the detectors opened during the replay."""

    metric: str
    segment: str
    detector: str
    since: date
    opened_on: date
    """The day whose end it was opened at (the detection run saw data through that day)."""
    delay_days: int
    """Days of shocked data the detection needed: ``opened_on - shock_day + 1``."""
    deviation_sigma: float


@dataclass(frozen=True, slots=True)
class Tightened:
    """A borrower the overlay tightened, and how authorize answered right after."""

    borrower_id: str
    tier: int
    at: datetime
    early_repayment: str
    auto_debit: str
    authorize_allowed: bool
    authorize_reasons: tuple[str, ...]
    authorize_microseconds: float


@dataclass(frozen=True, slots=True)
class OverlaySeen:
    """An overlay armed during the replay and how it ended."""

    overlay_id: str
    armed_by: str
    armed_at: datetime
    expires_at: datetime
    review_due_at: datetime
    state: str
    ended_at: datetime | None
    in_segment: int
    """Borrowers whose decision was in one of the playbook's tiers (T4-T5) right after arming."""
    tightened: tuple[Tightened, ...]
    restored: int
    """Tightened borrowers whose latest decision after the end carries no overlay."""
    notices_at_arming: int
    notices_at_end: int


@dataclass(frozen=True, slots=True)
class StressReport:
    """What the replay saw: incidents, overlays, and the guardrail check of every decision."""

    scenario: StressScenario
    stressed: int
    events: int
    incidents: tuple[IncidentSeen, ...]
    overlays: tuple[OverlaySeen, ...]
    decisions_checked: int
    g1_violations: tuple[str, ...]
    profile_violations: tuple[str, ...]
    thresholds_note: str
    seconds: float
    notes: tuple[str, ...] = field(default=())


def stress_thresholds(scenario: StressScenario) -> str:
    """The scenario's thresholds file: the shipped detectors and parameters, a short warm-up."""
    return f"""version: "stress-{scenario.warmup_days}d"
lookback_days: {scenario.lookback_days}
defaults:
  warmup_days: {scenario.warmup_days}
  min_denominator: {scenario.min_denominator}
  detectors:
    ewma: {{lambda: 0.2, width: 3.4}}
    cusum: {{k: 0.5, h: 6.5}}
metrics:
  overdue_rate_1p: {{direction: up}}
  failed_autodebit_rate: {{direction: up}}
  "market_signal:{SIGNAL}": {{direction: up, min_denominator: 0}}
"""


def shock_events(
    events: pl.DataFrame, truth: pl.DataFrame, scenario: StressScenario
) -> tuple[pl.DataFrame, int]:
    """The generated events with the scenario's market series and shock (pure): a daily
    unemployment signal instead of the monthly one, and from the shock day on the riskiest
    ``stressed_share`` of borrowers fail every debit and make no payment. Returns the events
    and how many borrowers were stressed."""
    rng = np.random.default_rng(scenario.seed)
    start = scenario.book_start
    days = scenario.history_days + scenario.watch_days
    shock_at = start + timedelta(days=scenario.history_days + scenario.shock_after)
    level = scenario.unemployment_base + np.where(
        np.arange(days) >= scenario.history_days + scenario.shock_after,
        scenario.unemployment_jump,
        0.0,
    )
    market = pl.DataFrame(
        {
            "event_id": [f"M-{SIGNAL}-d{d:05d}" for d in range(days)],
            "type": "market_signal",
            "schema_version": 1,
            "occurred_at": [start + timedelta(days=d, hours=12) for d in range(days)],
            "kind": "value",
            "series": SIGNAL,
            "value": np.round(level + rng.normal(0.0, 0.05, days), 3),
        }
    )
    count = max(1, round(truth.height * scenario.stressed_share))
    stressed = truth.sort("latent_risk", descending=True).head(count)["borrower_id"]
    after = (pl.col("occurred_at") >= shock_at) & pl.col("borrower_id").is_in(stressed.implode())
    kept = events.filter(
        ~((pl.col("type") == "market_signal") & (pl.col("series") == SIGNAL))
        & ~(after & (pl.col("type") == "repayment") & pl.col("kind").is_in(STRESSED_PAYMENTS))
    ).with_columns(
        status=pl.when(after & (pl.col("kind") == "auto_debit_attempt"))
        .then(pl.lit("failed"))
        .otherwise(pl.col("status"))
    )
    merged = pl.concat([kept, market], how="diagonal_relaxed").select(events.columns)
    return merged.cast(events.schema).sort("occurred_at", "event_id"), count


def run_stress(
    scenario: StressScenario,
    work_dir: Path,
    *,
    on_day: Callable[[date], None] | None = None,
) -> StressReport:
    """Replay ``scenario`` in ``work_dir`` (a fresh scratch folder) and report what happened.
    ``on_day`` is told each day once it is replayed (a progress bar)."""
    from repayguard.bootstrap import bootstrap
    from repayguard.cli.monitor.watch import Watch
    from repayguard.cli.shared import one_shot
    from repayguard.config import Settings
    from repayguard.platform.bus import InProcessBus
    from repayguard.platform.clock import FixedClock
    from repayguard.simulation import PortfolioSpec, generate_portfolio

    began = time.perf_counter()
    months = math.ceil((scenario.history_days + scenario.watch_days) / 28) + 1
    spec = PortfolioSpec(
        borrowers=scenario.borrowers,
        months=months,
        seed=scenario.seed,
        start=scenario.book_start,
        unemployment_rate=scenario.unemployment_base,
    )
    generated = generate_portfolio(spec, work_dir / "events")
    events, stressed = shock_events(
        pl.concat([pl.read_parquet(p) for p in generated.files]),
        pl.read_parquet(generated.truth_file),
        scenario,
    )
    thresholds = work_dir / "thresholds.yaml"
    thresholds.write_text(stress_thresholds(scenario))
    base = Settings(data_dir=work_dir / "data")
    settings = one_shot(
        base.model_copy(
            update={
                "monitoring": base.monitoring.model_copy(update={"thresholds_path": thresholds}),
                # Scratch only: never the database or bus the environment points at.
                "database": base.database.model_copy(update={"url": None}),
                "bus": base.bus.model_copy(update={"url": None}),
            }
        )
    )
    clock = FixedClock(datetime.combine(scenario.watch_start, datetime.min.time(), UTC))
    with bootstrap(
        settings, clock=clock, bus=InProcessBus(), migrate=True, serve_view=True
    ) as container:
        watch = Watch(container, clock, scenario, events)
        watch.prepare()
        for offset in range(scenario.watch_days):
            day = scenario.watch_start + timedelta(days=offset)
            watch.replay(day)
            if on_day is not None:
                on_day(day)
        watch.until_overlays_end()
        return StressReport(
            scenario=scenario,
            stressed=stressed,
            events=watch.ingested,
            incidents=tuple(watch.incidents),
            overlays=watch.overlays_seen(),
            decisions_checked=watch.checked,
            g1_violations=tuple(watch.g1_violations),
            profile_violations=tuple(watch.profile_violations),
            thresholds_note=(
                f"thresholds {thresholds.name}: the shipped detectors (EWMA λ 0.2 L 3.4, "
                f"CUSUM k 0.5 h 6.5) with a {scenario.warmup_days}-day warm-up over "
                f"{scenario.lookback_days} days (the shipped file needs 90) and a minimum "
                f"denominator of {scenario.min_denominator} borrowers"
            ),
            seconds=time.perf_counter() - began,
        )
