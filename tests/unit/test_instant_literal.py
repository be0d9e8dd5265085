"""An instant literal built from its microseconds is the literal Polars builds from a datetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from repayguard.core.feature_parts import INSTANT, instant

_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=_ZONES)
)
def test_instant_equals_the_datetime_literal(at: datetime) -> None:
    ours = pl.select(instant(at).alias("t")).to_series()
    polars = pl.select(pl.lit(at.astimezone(UTC)).alias("t")).to_series()
    assert ours.dtype == INSTANT == polars.dtype
    assert ours.item() == polars.item() == at


def test_instant_compares_with_event_times_to_the_microsecond() -> None:
    at = datetime(2026, 3, 1, 12, 0, 0, 1, tzinfo=UTC)
    times = pl.Series([at - timedelta(microseconds=1), at, at + timedelta(microseconds=1)])
    frame = pl.DataFrame({"occurred_at": times.cast(INSTANT)})
    kept = frame.filter(pl.col("occurred_at") <= instant(at))["occurred_at"].to_list()
    assert kept == [at - timedelta(microseconds=1), at]
