"""Feature computation on tiny hand-made histories: windows, allocation, point-in-time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.features import FEATURE_SCHEMA, FEATURES, compute_features

AS_OF = datetime(2026, 3, 1, 12, tzinfo=UTC)
_ids = count()


def ev(
    days_ago: float, type_: str, kind: str, borrower: str = "b1", **payload: Any
) -> dict[str, Any]:
    """One event ``days_ago`` days before AS_OF (negative = in the future)."""
    row: dict[str, Any] = dict.fromkeys(EVENT_SCHEMA.names())
    row.update(
        event_id=f"e{next(_ids)}",
        type=type_,
        schema_version=1,
        borrower_id=borrower,
        loan_id=payload.pop("loan_id", "L1") if type_ in ("repayment", "loan") else None,
        occurred_at=AS_OF - timedelta(days=days_ago),
        kind=kind,
        **payload,
    )
    return row


def due(days_ago: float, amount: float, **kw: Any) -> dict[str, Any]:
    return ev(days_ago, "repayment", "due", amount=amount, **kw)


def paid(days_ago: float, amount: float, *, early: bool = False, **kw: Any) -> dict[str, Any]:
    return ev(
        days_ago,
        "repayment",
        "paid",
        amount=amount,
        method="manual",
        channel="bank_card",
        early=early,
        **kw,
    )


def failed_debit(days_ago: float, **kw: Any) -> dict[str, Any]:
    return ev(days_ago, "repayment", "auto_debit_attempt", amount=100.0, status="failed", **kw)


def frame(*events: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(events), schema=EVENT_SCHEMA)


def features_of(*events: dict[str, Any], borrower: str = "b1") -> dict[str, Any]:
    out = compute_features(frame(*events), AS_OF)
    return out.filter(pl.col("borrower_id") == borrower).row(0, named=True)


def test_failed_debits_are_counted_only_within_30_days() -> None:
    f = features_of(failed_debit(1), failed_debit(29.9), failed_debit(30.1), failed_debit(60))
    assert f["failed_debits_30d"] == 2


def test_succeeded_debits_are_not_failed_debits() -> None:
    ok = ev(2, "repayment", "auto_debit_attempt", amount=100.0, status="succeeded")
    assert features_of(ok, failed_debit(3))["failed_debits_30d"] == 1


def test_dpd_now_allocates_payments_to_the_oldest_due_first() -> None:
    # Two dues of 100; one payment of 100 covers the older one, so the newer is overdue.
    f = features_of(due(40, 100.0), due(10, 100.0), paid(5, 100.0))
    assert f["dpd_now"] == 10


def test_dpd_now_counts_from_the_oldest_partly_paid_due() -> None:
    f = features_of(due(40, 100.0), due(10, 100.0), paid(5, 60.0))
    assert f["dpd_now"] == 40


def test_dpd_now_is_zero_when_payments_cover_every_due() -> None:
    f = features_of(due(40, 100.0), due(10, 100.0), paid(35, 100.0), paid(9, 100.0))
    assert f["dpd_now"] == 0


def test_dpd_now_is_zero_on_the_day_an_instalment_falls_due() -> None:
    assert features_of(due(0.5, 100.0))["dpd_now"] == 0


def test_dpd_now_keeps_loans_apart() -> None:
    f = features_of(due(20, 100.0, loan_id="A"), paid(1, 100.0, loan_id="B"))
    assert f["dpd_now"] == 20


def test_max_dpd_90d_remembers_a_delinquency_that_was_cured() -> None:
    f = features_of(due(60, 100.0), paid(35, 100.0), due(5, 100.0), paid(4, 100.0))
    assert (f["dpd_now"], f["max_dpd_90d"]) == (0, 25)


def test_max_dpd_90d_ignores_delinquency_cured_before_the_window() -> None:
    f = features_of(due(200, 100.0), paid(120, 100.0))
    assert f["max_dpd_90d"] == 0


def test_max_dpd_90d_is_at_least_dpd_now() -> None:
    f = features_of(due(120, 100.0))
    assert f["dpd_now"] == f["max_dpd_90d"] == 120


def test_on_time_ratio_counts_dues_covered_within_a_day() -> None:
    f = features_of(
        due(90, 100.0),
        paid(89.5, 100.0),  # on time
        due(60, 100.0),
        paid(50, 100.0),  # late
        due(30, 100.0),
        paid(31, 100.0),  # paid ahead: on time
        due(200, 100.0),
        paid(200, 100.0),  # outside 180 days
    )
    assert f["on_time_ratio_180d"] == pytest.approx(2 / 3)


def test_on_time_ratio_is_null_without_assessed_dues() -> None:
    assert features_of(due(0.5, 100.0))["on_time_ratio_180d"] is None


def test_early_repayments_and_redraws_after_early_are_counted() -> None:
    f = features_of(
        paid(20, 500.0, early=True),
        ev(15, "loan", "drawdown", amount=500.0),
        paid(10, 500.0, early=True),
        ev(8, "loan", "drawdown", amount=500.0),
        paid(45, 500.0, early=True),
    )
    assert (f["early_repayments_30d"], f["redraws_after_early_30d"]) == (2, 2)


def test_redraw_more_than_30_days_after_early_repayment_is_not_cycling() -> None:
    f = features_of(paid(45, 500.0, early=True), ev(10, "loan", "drawdown", amount=500.0))
    assert f["redraws_after_early_30d"] == 0


def test_redraw_before_any_early_repayment_is_not_cycling() -> None:
    f = features_of(ev(10, "loan", "drawdown", amount=500.0), paid(5, 500.0, early=True))
    assert f["redraws_after_early_30d"] == 0


def test_utilization_is_outstanding_over_latest_limit() -> None:
    f = features_of(
        ev(100, "loan", "limit_change", amount=1000.0),
        ev(50, "loan", "limit_change", amount=4000.0),
        ev(40, "loan", "drawdown", amount=3000.0),
        paid(10, 1000.0),
    )
    assert f["utilization"] == pytest.approx(0.5)


def test_utilization_is_never_negative() -> None:
    f = features_of(ev(50, "loan", "limit_change", amount=4000.0), paid(10, 1000.0))
    assert f["utilization"] == 0.0


def test_utilization_is_null_without_a_limit() -> None:
    assert features_of(ev(40, "loan", "drawdown", amount=3000.0))["utilization"] is None


def test_inflow_balance_and_device_changes() -> None:
    f = features_of(
        ev(40, "transaction", "inflow", amount=9000.0, balance=9000.0),
        ev(20, "transaction", "inflow", amount=3000.0, balance=3500.0),
        ev(10, "transaction", "outflow", amount=3000.0, balance=500.0),
        ev(5, "behaviour", "device_change"),
        ev(45, "behaviour", "device_change"),
        ev(1, "behaviour", "login"),
    )
    assert (f["inflow_30d"], f["balance_now"], f["device_changes_30d"]) == (3000.0, 500.0, 1)


def test_bureau_features_come_from_the_latest_report() -> None:
    f = features_of(
        ev(100, "credit_report", "report", score=700.0, inquiries=1, external_debt=0.0),
        ev(10, "credit_report", "report", score=610.0, inquiries=5, external_debt=0.0),
    )
    assert (f["bureau_score"], f["inquiries_90d"]) == (610.0, 5)


def test_borrowers_without_events_get_neutral_values() -> None:
    out = compute_features(frame(failed_debit(1)), AS_OF, borrowers=["nobody"])
    row = out.row(0, named=True)
    assert row["borrower_id"] == "nobody"
    assert row["dpd_now"] == row["failed_debits_30d"] == row["device_changes_30d"] == 0
    assert row["inflow_30d"] == 0.0
    assert row["bureau_score"] is None
    assert row["utilization"] is None


def test_rows_follow_the_requested_borrowers_in_order() -> None:
    events = frame(failed_debit(1, borrower="a"), failed_debit(1, borrower="b"))
    out = compute_features(events, AS_OF, borrowers=["b", "zz", "a"])
    assert out["borrower_id"].to_list() == ["b", "zz", "a"]
    assert out["failed_debits_30d"].to_list() == [1, 0, 1]


def test_without_borrowers_every_borrower_with_history_is_a_row_sorted_by_id() -> None:
    events = frame(
        failed_debit(1, borrower="b"),
        failed_debit(1, borrower="a"),
        failed_debit(-5, borrower="later"),
    )
    assert compute_features(events, AS_OF)["borrower_id"].to_list() == ["a", "b"]


def test_output_schema_matches_declared_features() -> None:
    out = compute_features(frame(), AS_OF)
    assert out.schema == FEATURE_SCHEMA
    assert out.columns == ["borrower_id", *(spec.name for spec in FEATURES)]


def test_naive_as_of_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        compute_features(frame(), datetime(2026, 3, 1))


def test_appending_future_events_does_not_change_features() -> None:
    past = [due(40, 100.0), paid(5, 60.0), failed_debit(3), ev(2, "behaviour", "device_change")]
    future = [
        paid(-1, 40.0),
        failed_debit(-2),
        due(-3, 100.0),
        ev(-1, "credit_report", "report", score=800.0, inquiries=0),
    ]
    assert compute_features(frame(*past), AS_OF).equals(
        compute_features(frame(*past, *future), AS_OF)
    )


_history = st.lists(
    st.tuples(
        st.sampled_from(["due", "paid", "early", "fail", "draw", "limit", "inflow", "device"]),
        st.floats(-60, 200),
        st.sampled_from(["b1", "b2"]),
        st.sampled_from([50.0, 100.0, 250.0]),
    ),
    max_size=25,
)


def _build(spec: tuple[str, float, str, float]) -> dict[str, Any]:
    kind, days, who, amount = spec
    make = {
        "due": lambda: due(days, amount, borrower=who),
        "paid": lambda: paid(days, amount, borrower=who),
        "early": lambda: paid(days, amount, early=True, borrower=who),
        "fail": lambda: failed_debit(days, borrower=who),
        "draw": lambda: ev(days, "loan", "drawdown", who, amount=amount),
        "limit": lambda: ev(days, "loan", "limit_change", who, amount=amount * 10),
        "inflow": lambda: ev(days, "transaction", "inflow", who, amount=amount, balance=amount),
        "device": lambda: ev(days, "behaviour", "device_change", who),
    }
    return make[kind]()


@settings(max_examples=60, deadline=None)
@given(history=_history)
def test_features_ignore_events_after_as_of_for_any_history(
    history: list[tuple[str, float, str, float]],
) -> None:
    events = frame(*(_build(s) for s in history))
    past = events.filter(pl.col("occurred_at") <= AS_OF)
    borrowers = ["b1", "b2"]
    full = compute_features(events, AS_OF, borrowers)
    assert full.equals(compute_features(past, AS_OF, borrowers))
    assert full.equals(compute_features(events.reverse(), AS_OF, borrowers))
