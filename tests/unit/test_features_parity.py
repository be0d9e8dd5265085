"""Online and batch features agree, and no feature can see past its as-of time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features import AS_OF, due, ev, failed_debit, frame, paid

from repayguard.core.features import FEATURES, compute_features

BORROWERS = ["b1", "b2", "b3", "b4"]
KINDS = [
    "due",
    "paid",
    "early",
    "fail",
    "ok",
    "draw",
    "limit",
    "inflow",
    "outflow",
    "device",
    "contact",
    "login",
    "report",
]


def _event(kind: str, days: float, who: str, amount: float, score: float) -> dict[str, Any]:
    make = {
        "due": lambda: due(days, amount, borrower=who),
        "paid": lambda: paid(days, amount, borrower=who),
        "early": lambda: paid(days, amount, early=True, borrower=who),
        "fail": lambda: failed_debit(days, borrower=who),
        "ok": lambda: ev(
            days, "repayment", "auto_debit_attempt", who, amount=amount, status="succeeded"
        ),
        "draw": lambda: ev(days, "loan", "drawdown", who, amount=amount),
        "limit": lambda: ev(days, "loan", "limit_change", who, amount=amount * 10),
        "inflow": lambda: ev(days, "transaction", "inflow", who, amount=amount, balance=amount),
        "outflow": lambda: ev(days, "transaction", "outflow", who, amount=amount, balance=-amount),
        "device": lambda: ev(days, "behaviour", "device_change", who),
        "contact": lambda: ev(days, "behaviour", "contact_change", who),
        "login": lambda: ev(days, "behaviour", "login", who),
        "report": lambda: ev(
            days,
            "credit_report",
            "report",
            who,
            score=score,
            inquiries=int(amount) % 7,
            external_debt=amount,
        ),
    }
    return make[kind]()


_histories = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.floats(-60, 220),
        st.sampled_from(BORROWERS),
        st.sampled_from([50.0, 100.0, 250.0, 1000.0]),
        st.floats(300, 900),
    ),
    max_size=40,
)


@settings(max_examples=50, deadline=None)
@given(history=_histories, affected=st.sets(st.sampled_from(BORROWERS), min_size=1))
def test_online_features_of_affected_borrowers_equal_the_batch_features(
    history: list[tuple[str, float, str, float, float]], affected: set[str]
) -> None:
    events = frame(*(_event(*spec) for spec in history))
    batch = compute_features(events, AS_OF, BORROWERS)
    # The online path loads only the affected borrowers' history, in any order.
    mine = events.filter(pl.col("borrower_id").is_in(sorted(affected))).sample(
        fraction=1.0, shuffle=True, seed=len(history)
    )
    online = compute_features(mine, AS_OF, sorted(affected))
    expected = batch.filter(pl.col("borrower_id").is_in(sorted(affected))).sort("borrower_id")
    assert online.equals(expected)


@settings(max_examples=40, deadline=None)
@given(history=_histories, future=_histories)
def test_no_feature_changes_when_events_after_as_of_are_appended(
    history: list[tuple[str, float, str, float, float]],
    future: list[tuple[str, float, str, float, float]],
) -> None:
    past = frame(*(_event(*spec) for spec in history)).filter(pl.col("occurred_at") <= AS_OF)
    later = frame(*(_event(kind, -abs(days) - 1e-3, who, a, s) for kind, days, who, a, s in future))
    before = compute_features(past, AS_OF, BORROWERS)
    after = compute_features(pl.concat([past, later]), AS_OF, BORROWERS)
    assert before.equals(after)


def test_an_event_exactly_at_as_of_counts_and_one_a_microsecond_later_does_not() -> None:
    at = ev(0, "behaviour", "device_change")
    late = ev(0, "behaviour", "device_change")
    late["occurred_at"] = AS_OF + timedelta(microseconds=1)
    out = compute_features(frame(at, late), AS_OF)
    assert out["device_changes_30d"].to_list() == [1]


def test_the_event_kinds_of_the_parity_test_reach_every_feature() -> None:
    history = [
        _event("due", 100.0, "b1", 100.0, 0),
        _event("paid", 40.0, "b1", 100.0, 0),
        _event("due", 10.0, "b1", 100.0, 0),
        _event("paid", 10.5, "b1", 100.0, 0),
        _event("early", 5.0, "b1", 50.0, 0),
        _event("due", 3.0, "b1", 100.0, 0),
        _event("draw", 3.0, "b1", 1000.0, 0),
        _event("limit", 50.0, "b1", 250.0, 0),
        _event("fail", 2.0, "b1", 100.0, 0),
        _event("inflow", 60.0, "b1", 250.0, 0),
        _event("inflow", 20.0, "b1", 100.0, 0),
        _event("device", 1.0, "b1", 0, 0),
        _event("contact", 1.0, "b1", 0, 0),
        _event("report", 100.0, "b1", 250.0, 700.0),
        _event("report", 10.0, "b1", 1000.0, 650.0),
    ]
    row = compute_features(frame(*history), AS_OF).row(0, named=True)
    assert [spec.name for spec in FEATURES if row[spec.name] in (None, 0, 0.0)] == []
    assert set(KINDS) >= {"due", "paid", "early", "draw", "limit", "report", "contact"}
