"""Portfolio metrics on hand-built frames whose answers are known by counting."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import polars as pl
import pytest

from repayguard.core.events import EVENT_SCHEMA, to_row, validate_event
from repayguard.core.features import compute_features
from repayguard.core.scoring.profile import ColumnProfile
from repayguard.decisions import LOGGED_SCHEMA
from repayguard.monitoring import MetricInputs, ScoreReference, compute_series, window_values
from repayguard.monitoring.book import day_end, delinquency_by_day

from support.builders import debit_attempt, due, make_event, paid

JAN1 = datetime(2026, 1, 1, 9, tzinfo=UTC)
BORROWERS = [f"b{i}" for i in range(10)]
UNPAID = {"b0", "b5", "b6"}


def frame(events: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame([to_row(validate_event(e)) for e in events], schema=EVENT_SCHEMA)


def decision(borrower: str, at: datetime, tier: int, **states: Any) -> dict[str, Any]:
    return {
        "borrower_id": borrower,
        "as_of": at,
        "tier": tier,
        "pd": 0.01 * tier,
        "model_version": "expert-1",
        "auto_debit": states.get("auto_debit", "optional"),
        "early_repayment": states.get("early_repayment", "allowed"),
        "manual": states.get("manual", "allowed"),
    }


def decisions(rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LOGGED_SCHEMA)


def book_of_ten() -> MetricInputs:
    """Ten borrowers with an instalment due on 1 January; b0, b5 and b6 never pay; b0-b4 are
    tier 2 and b5-b9 tier 4; the payers pay by hand, except b9 who is debited."""
    events = []
    for b in BORROWERS:
        events.append(due(b, JAN1))
        if b not in UNPAID:
            method = {"method": "auto_debit", "channel": None} if b == "b9" else {}
            events.append(paid(b, JAN1 + timedelta(hours=1), **method))
    log = [decision(b, JAN1 - timedelta(days=1), 2 if int(b[1]) < 5 else 4) for b in BORROWERS]
    return MetricInputs(events=frame(events), decisions=decisions(log))


def values(series: pl.DataFrame, metric: str, segment: str = "all") -> dict[date, tuple]:
    rows = series.filter((pl.col("metric") == metric) & (pl.col("segment") == segment))
    return {
        d: (v, n, m)
        for d, v, n, m in rows.select("day", "value", "numerator", "denominator").iter_rows()
    }


def test_three_of_ten_overdue_is_a_rate_of_three_tenths() -> None:
    series = compute_series(book_of_ten(), start=date(2026, 1, 10), end=date(2026, 1, 10))
    assert values(series, "overdue_rate_1p")[date(2026, 1, 10)] == (0.3, 3.0, 10.0)
    assert values(series, "overdue_rate_30p")[date(2026, 1, 10)] == (0.0, 0.0, 10.0)


def test_overdue_rate_by_tier_and_by_paying_method() -> None:
    series = compute_series(
        book_of_ten(), start=date(2026, 2, 5), end=date(2026, 2, 5), metrics=["overdue_rate_30p"]
    )
    day = date(2026, 2, 5)
    assert values(series, "overdue_rate_30p")[day] == (0.3, 3.0, 10.0)
    assert values(series, "overdue_rate_30p", "tier=T2")[day] == (0.2, 1.0, 5.0)
    assert values(series, "overdue_rate_30p", "tier=T4")[day] == (0.4, 2.0, 5.0)
    # The payers are all current; the three who never paid have no paying method.
    assert values(series, "overdue_rate_30p", "payer=manual")[day] == (0.0, 0.0, 6.0)
    assert values(series, "overdue_rate_30p", "payer=auto_debit")[day] == (0.0, 0.0, 1.0)
    assert set(series.get_column("metric")) == {"overdue_rate_30p"}


def test_before_the_first_instalment_nobody_is_in_the_book() -> None:
    series = compute_series(book_of_ten(), start=date(2025, 12, 31), end=date(2025, 12, 31))
    assert values(series, "overdue_rate_1p") == {}


def test_days_past_due_match_the_decision_features_at_each_day_end() -> None:
    events = frame(
        [due("x", JAN1), paid("x", JAN1 + timedelta(days=3), amount=200.0),
         due("x", JAN1 + timedelta(days=30)), paid("x", JAN1 + timedelta(days=40), amount=800.0),
         due("y", JAN1 + timedelta(days=5), amount=100.0)]
    )  # fmt: skip
    days = [date(2026, 1, 1) + timedelta(days=n) for n in range(0, 60, 3)]
    grid = delinquency_by_day(events, days)
    for day in days:
        features = compute_features(events, day_end(day))
        for borrower, dpd in (
            grid.filter(pl.col("day") == day).select("borrower_id", "dpd").iter_rows()
        ):
            expected = features.filter(pl.col("borrower_id") == borrower).get_column("dpd_now")[0]
            assert dpd == expected, (day, borrower)


def test_roll_rates_compare_each_borrower_with_thirty_days_earlier() -> None:
    start = JAN1
    events = frame(
        [due("a", start), paid("a", start),  # current on day 0 and 30
         due("b", start + timedelta(days=20)),  # current on day 0? not in book; 10 dpd on day 30
         due("c", start - timedelta(days=5)),  # 5 dpd on day 0 → 35 dpd on day 30
         due("d", start - timedelta(days=40)), paid("d", start - timedelta(days=10), amount=500.0)]
    )  # fmt: skip
    day = date(2026, 1, 31)
    series = compute_series(
        MetricInputs(events=events, decisions=decisions([])), start=day, end=day
    )
    assert values(series, "roll_rate_current_1_29")[day] == (0.0, 0.0, 2.0)  # a and d stayed
    assert values(series, "roll_rate_1_29_30_59")[day] == (1.0, 1.0, 1.0)  # c rolled


def test_failed_debit_rate_counts_the_days_attempts() -> None:
    at = JAN1 + timedelta(days=2)
    events = frame(
        [debit_attempt(b, at, "failed" if b == "b1" else "succeeded") for b in BORROWERS[:4]]
    )
    day = at.date()
    series = compute_series(
        MetricInputs(events=events, decisions=decisions([])), start=day, end=day
    )
    assert values(series, "failed_autodebit_rate")[day] == (0.25, 1.0, 4.0)


def test_tier_migration_and_restricted_shares_follow_the_latest_decision() -> None:
    day1 = JAN1
    log = [
        decision("p", day1, 2),
        decision("q", day1, 2),
        decision("r", day1, 4, auto_debit="disabled"),
        decision("p", day1 + timedelta(days=1), 3, early_repayment="restricted"),
    ]  # fmt: skip
    day2 = date(2026, 1, 2)
    series = compute_series(
        MetricInputs(events=frame([]), decisions=decisions(log)), start=day2, end=day2
    )
    assert values(series, "tier_migration", "T2->T3")[day2] == (0.5, 1.0, 2.0)
    assert values(series, "tier_migration", "T2->T2")[day2] == (0.5, 1.0, 2.0)
    assert values(series, "tier_migration", "T4->T4")[day2] == (1.0, 1.0, 1.0)
    assert values(series, "restricted_auto_debit_disabled")[day2] == (1 / 3, 1.0, 3.0)
    assert values(series, "restricted_early_repayment", "tier=T3")[day2] == (1.0, 1.0, 1.0)
    assert values(series, "restricted_manual_forced")[day2] == (0.0, 0.0, 3.0)


def test_counts_per_day_and_approvals_waiting_at_day_end() -> None:
    d = datetime(2026, 1, 5, 10, tzinfo=UTC)
    inputs = MetricInputs(
        events=frame([]),
        decisions=decisions([]),
        notices=[d, d, d + timedelta(days=1)],
        complaints=[d],
        approvals=[
            (d, None),
            (d, d + timedelta(hours=2)),
            (d - timedelta(days=3), d + timedelta(days=1)),
        ],
    )
    series = compute_series(inputs, start=date(2026, 1, 5), end=date(2026, 1, 6))
    assert values(series, "notices_per_day") == {
        date(2026, 1, 5): (2.0, 2.0, 1.0), date(2026, 1, 6): (1.0, 1.0, 1.0)
    }  # fmt: skip
    assert values(series, "complaints_per_day")[date(2026, 1, 6)] == (0.0, 0.0, 1.0)
    assert values(series, "approvals_waiting") == {
        date(2026, 1, 5): (2.0, 2.0, 1.0), date(2026, 1, 6): (1.0, 1.0, 1.0)
    }  # fmt: skip


def test_each_market_series_is_its_last_value_of_the_day() -> None:
    def signal(at: datetime, value: float) -> dict[str, Any]:
        row = make_event("market_signal", "ignored", at, series="unemployment", value=value)
        del row["borrower_id"]
        return row

    events = frame([signal(JAN1, 5.1), signal(JAN1 + timedelta(hours=3), 5.3)])
    series = compute_series(
        MetricInputs(events=events, decisions=decisions([])), start=JAN1.date(), end=JAN1.date()
    )
    assert values(series, "market_signal:unemployment")[JAN1.date()] == (5.3, 5.3, 1.0)


def test_score_psi_is_zero_against_identical_bins_and_grows_with_a_shift() -> None:
    log = [decision(f"b{i}", JAN1, 1 + i % 5) for i in range(50)]
    reference = ScoreReference(
        bins=ColumnProfile("pd", edges=(0.015, 0.035), shares=(0.2, 0.4, 0.4)),
        model_version="expert-1",
        source="test",
    )
    inputs = MetricInputs(events=frame([]), decisions=decisions(log), score_reference=reference)
    day = JAN1.date()
    assert values(compute_series(inputs, start=day, end=day), "score_psi")[day][0] == pytest.approx(
        0.0
    )
    shifted = MetricInputs(
        events=frame([]),
        decisions=decisions([decision(f"b{i}", JAN1, 5) for i in range(50)]),
        score_reference=reference,
    )
    assert values(compute_series(shifted, start=day, end=day), "score_psi")[day][0] > 1.0


def test_windows_sum_numerators_over_denominators() -> None:
    series = compute_series(
        book_of_ten(), start=date(2026, 1, 30), end=date(2026, 2, 1), metrics=["overdue_rate_30p"]
    )
    windows = {(v.segment, v.window_days): v for v in window_values(series, day=date(2026, 2, 1))}
    # 30+ DPD reached on 31 January: 0 of 10, 3 of 10, 3 of 10 over three days.
    assert windows[("all", 1)].value == 0.3
    assert windows[("all", 7)].numerator == 6.0
    assert windows[("all", 7)].denominator == 30.0


def test_unknown_metrics_and_reversed_ranges_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown metric"):
        compute_series(
            book_of_ten(), start=date(2026, 1, 1), end=date(2026, 1, 1), metrics=["nope"]
        )
    with pytest.raises(ValueError, match="before it starts"):
        compute_series(book_of_ten(), start=date(2026, 1, 2), end=date(2026, 1, 1))
