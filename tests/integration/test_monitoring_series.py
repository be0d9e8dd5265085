"""Portfolio metrics from a real store (SQLite and PostgreSQL): a known sequence of events,
decided online, gives the daily series and the sliding windows counted by hand."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import polars as pl
import pytest

from repayguard import monitoring
from repayguard.bootstrap import Container
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.monitoring.errors import MetricRangeInvalid, UnknownMetric
from repayguard.platform.clock import FixedClock

from support.builders import due, failing_debits_history, healthy_history, make_event, paid
from support.common import NOW

TODAY = NOW.date()


def portfolio() -> list[dict[str, Any]]:
    """Five borrowers: B1 on auto-debit whose three attempts in the last 20 days failed (an
    instalment 20 days overdue), B2-B4 paying on time, B5 with an instalment 40 days overdue;
    and an unemployment rate published twice on the day before today."""
    events = failing_debits_history("B1", NOW)
    for b in ("B2", "B3", "B4"):
        events += healthy_history(b, NOW)
    events.append(due("B5", NOW - timedelta(days=40)))
    for hours, value in ((8, 5.0), (2, 5.2)):
        signal = make_event(
            "market_signal", "-", NOW - timedelta(days=1, hours=hours), series="unemployment",
            value=value,
        )  # fmt: skip
        del signal["borrower_id"]
        events.append(signal)
    return events


def point(series: pl.DataFrame, metric: str, day: date, segment: str = "all") -> tuple:
    rows = series.filter(
        (pl.col("metric") == metric) & (pl.col("segment") == segment) & (pl.col("day") == day)
    )
    assert rows.height == 1, (metric, segment, day, rows)
    return rows.select("value", "numerator", "denominator").row(0)


def test_the_daily_series_counts_the_ingested_and_decided_book(container: Container) -> None:
    report = ingest_events(
        IngestEvents(portfolio(), source="test"), uow=container.uow(), setup=container.ingest
    )
    assert report.accepted == len(portfolio())  # decided online as of now, by the fixture's bus
    series = monitoring.daily_series(container.uow(), start=TODAY - timedelta(days=10), end=TODAY)
    # B1 is 20 days past due, B5 40: two of five overdue, one of them 30+.
    assert point(series, "overdue_rate_1p", TODAY) == (0.4, 2.0, 5.0)
    assert point(series, "overdue_rate_30p", TODAY) == (0.2, 1.0, 5.0)
    assert point(series, "overdue_rate_30p", TODAY - timedelta(days=1)) == (0.2, 1.0, 5.0)
    # Ten days ago B1's only attempt that day failed.
    assert point(series, "failed_autodebit_rate", TODAY - timedelta(days=10)) == (1.0, 1.0, 1.0)
    # Decided today: every borrower has a tier today, nobody yesterday.
    tiers = series.filter(
        (pl.col("metric") == "overdue_rate_1p") & pl.col("segment").str.starts_with("tier=")
    )
    assert set(tiers.get_column("day")) == {TODAY}
    assert tiers.get_column("denominator").sum() == 5.0
    # The shipped policy disables auto-debit after repeated failed debits: B1 only.
    assert point(series, "restricted_auto_debit_disabled", TODAY) == (0.2, 1.0, 5.0)
    assert point(series, "market_signal:unemployment", TODAY - timedelta(days=1))[0] == 5.2
    assert point(series, "notices_per_day", TODAY)[0] >= 1.0  # B1 was told
    assert point(series, "notices_per_day", TODAY - timedelta(days=1))[0] == 0.0
    assert point(series, "approvals_waiting", TODAY - timedelta(days=1))[0] == 0.0
    # Without a promoted model PSI compares with the first decided day: no shift on it.
    assert point(series, "score_psi", TODAY)[0] == pytest.approx(0.0)


def test_the_snapshot_follows_the_bus_at_most_once_per_refresh(
    container: Container, clock: FixedClock
) -> None:
    ingest_events(
        IngestEvents(portfolio(), source="test"), uow=container.uow(), setup=container.ingest
    )
    assert container.monitor is not None
    first = container.monitor.current_snapshot()
    assert first.value("overdue_rate_1p", "all", 1) == 0.4
    # B5 pays the 40-day-old instalment: the ingest message marks the snapshot stale, but it
    # is recomputed only once the refresh interval has passed.
    ingest_events(
        IngestEvents([paid("B5", NOW)], source="test"), uow=container.uow(), setup=container.ingest
    )
    assert container.monitor.current_snapshot() is first
    clock.advance(timedelta(seconds=container.settings.monitoring.refresh_seconds + 1))
    second = container.monitor.current_snapshot()
    assert second.value("overdue_rate_1p", "all", 1) == 0.2
    assert second.value("overdue_rate_30p", "all", 1) is not None
    # Without any new message it stays as it is, however much time passes today.
    clock.advance(timedelta(minutes=10))
    assert container.monitor.current_snapshot() is second


def test_bad_requests_are_refused_with_what_to_do(container: Container) -> None:
    with pytest.raises(UnknownMetric):
        monitoring.daily_series(container.uow(), start=TODAY, end=TODAY, metrics=["overdue"])
    with pytest.raises(MetricRangeInvalid):
        monitoring.daily_series(container.uow(), start=TODAY, end=TODAY - timedelta(days=1))
    with pytest.raises(MetricRangeInvalid):
        monitoring.daily_series(container.uow(), start=date(1, 1, 1), end=TODAY)
