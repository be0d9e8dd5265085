"""The target (30+ days past due within 90 days) and leakage-free, out-of-time training sets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_features import AS_OF, due, ev, frame, paid

from repayguard.core.features import FEATURE_NAMES, compute_features
from repayguard.core.labels import (
    LabelSpec,
    LabelWindowInvalid,
    build_training_set,
    compute_labels,
    default_plan,
    plan_out_of_time,
)

END = AS_OF + timedelta(days=200)


def label_of(*events: dict[str, Any], borrower: str = "b1") -> tuple[bool, bool]:
    out = compute_labels(frame(*events), AS_OF, [borrower])
    row = out.row(0, named=True)
    return row["label"], row["delinquent_at_as_of"]


def test_an_instalment_unpaid_for_30_days_inside_the_window_is_positive() -> None:
    assert label_of(due(-10, 100.0)) == (True, False)


def test_an_instalment_paid_on_day_29_is_negative() -> None:
    assert label_of(due(-10, 100.0), paid(-39, 100.0)) == (False, False)


def test_an_instalment_paid_on_day_31_is_still_positive() -> None:
    assert label_of(due(-10, 100.0), paid(-41, 100.0)) == (True, False)


def test_reaching_30_days_after_the_window_is_negative() -> None:
    assert label_of(due(-61, 100.0))[0] is False
    assert label_of(due(-60, 100.0))[0] is True  # exactly at as_of + 90 days: inside


def test_a_borrower_already_30_days_late_is_flagged_and_positive() -> None:
    assert label_of(due(45, 100.0)) == (True, True)


def test_a_cured_old_delinquency_is_not_a_label() -> None:
    assert label_of(due(60, 100.0), paid(40, 100.0)) == (False, False)


def test_an_early_repayment_does_not_cure_a_later_instalment() -> None:
    assert label_of(paid(5, 5000.0, early=True), due(-10, 100.0)) == (True, False)


def test_events_after_the_window_do_not_change_labels() -> None:
    inside = [due(-10, 100.0), due(-40, 100.0, borrower="b2"), paid(-50, 100.0, borrower="b2")]
    late = [paid(-95, 100.0), due(-95, 100.0, borrower="b2")]
    before = compute_labels(frame(*inside), AS_OF, ["b1", "b2"])
    assert before.equals(compute_labels(frame(*inside, *late), AS_OF, ["b1", "b2"]))
    assert before["label"].to_list() == [True, False]


_repayments = st.lists(
    st.tuples(
        st.sampled_from(["due", "paid", "early"]),
        st.floats(-120, 200),
        st.sampled_from([50.0, 100.0]),
    ),
    max_size=20,
)


@settings(max_examples=50, deadline=None)
@given(history=_repayments)
def test_delinquent_at_as_of_is_exactly_dpd_now_of_30_or_more(
    history: list[tuple[str, float, float]],
) -> None:
    make = {"due": due, "paid": paid, "early": lambda d, a: paid(d, a, early=True)}
    events = frame(*(make[k](d, a) for k, d, a in history))
    labels = compute_labels(events, AS_OF, ["b1"]).row(0, named=True)
    features = compute_features(events, AS_OF, ["b1"]).row(0, named=True)
    assert labels["delinquent_at_as_of"] == (features["dpd_now"] >= 30)
    if labels["delinquent_at_as_of"]:
        assert labels["label"]


def test_a_training_set_joins_features_at_each_date_with_the_label_after_it() -> None:
    events = frame(
        due(-10, 100.0), ev(5, "behaviour", "device_change"), due(45, 100.0, borrower="b2")
    )
    out = build_training_set(events, [AS_OF, AS_OF + timedelta(days=1)], observed_until=END)
    assert out.columns == ["as_of", "borrower_id", *FEATURE_NAMES, "label"]
    assert out.filter(pl.col("borrower_id") == "b1")["label"].to_list() == [1, 1]
    assert "b2" not in out["borrower_id"].to_list()  # already 30+ days late: left out
    kept = build_training_set(events, [AS_OF], observed_until=END, exclude_delinquent=False)
    assert kept.filter(pl.col("borrower_id") == "b2")["label"].to_list() == [1]


@settings(max_examples=30, deadline=None)
@given(future=_repayments)
def test_training_features_never_see_events_after_their_as_of(
    future: list[tuple[str, float, float]],
) -> None:
    past = [due(40, 100.0), paid(35, 60.0), ev(3, "behaviour", "device_change")]
    make = {"due": due, "paid": paid, "early": lambda d, a: paid(d, a, early=True)}
    later = [make[k](-abs(d) - 0.01, a) for k, d, a in future]
    base = build_training_set(frame(*past), [AS_OF], observed_until=END)
    more = build_training_set(frame(*past, *later), [AS_OF], observed_until=END)
    assert base.drop("label").equals(more.drop("label"))


def test_a_date_whose_label_window_is_not_observed_is_refused() -> None:
    with pytest.raises(LabelWindowInvalid, match="after the data ends"):
        build_training_set(frame(due(1, 1.0)), [AS_OF], observed_until=AS_OF + timedelta(days=89))


def test_out_of_time_plans_refuse_training_windows_that_reach_the_validation_period() -> None:
    spec = LabelSpec()
    ok = plan_out_of_time([AS_OF], [AS_OF + timedelta(days=90)], spec=spec)
    assert ok.train == (AS_OF,)
    with pytest.raises(LabelWindowInvalid, match="would see the validation period"):
        plan_out_of_time([AS_OF], [AS_OF + timedelta(days=89)], spec=spec)


def test_the_default_plan_validates_on_the_last_observable_date() -> None:
    first = datetime(2025, 1, 1, tzinfo=UTC)
    last = datetime(2025, 12, 31, 23, 50, tzinfo=UTC)
    plan = default_plan(first, last)
    (validation,) = plan.validation
    assert validation == datetime(2025, 10, 2, tzinfo=UTC)
    assert len(plan.train) == 4
    assert all(d + timedelta(days=90) <= validation for d in plan.train)
    assert all(d >= first + timedelta(days=90) for d in plan.train)
    assert all(d.hour == d.minute == 0 for d in (*plan.train, validation))


def test_the_default_plan_refuses_too_short_a_history() -> None:
    with pytest.raises(LabelWindowInvalid, match="at least 270"):
        default_plan(AS_OF, AS_OF + timedelta(days=200))
