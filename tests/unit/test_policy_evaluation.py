"""The policy's evaluation cadence: who is due when (a borrower is due exactly when its tier's
cadence has elapsed since its last decision), where a whole-book period starts, and the
``evaluation`` section refused with the field named when it is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repayguard.core.policy import PolicyInvalid, content_hash, load_policy
from repayguard.core.policy.diff import diff_policies
from repayguard.core.policy.evaluation import (
    CADENCES,
    Evaluation,
    WholeBook,
    cutoff,
    is_due,
    period_start,
)
from repayguard.decisions import DecideBorrowers, triggers
from repayguard.resources import read_text

CADENCE = st.sampled_from(sorted(CADENCES))
MOMENT = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)
EVALUATION = st.builds(
    Evaluation,
    tiers=st.dictionaries(st.sampled_from([f"T{n}" for n in range(1, 10)]), CADENCE),
    default=st.none() | CADENCE,
)
SHIPPED = read_text("policies/cn-default.yaml")


def with_evaluation(section: str) -> str:
    """The shipped CN policy with its evaluation section replaced by ``section``."""
    head, _, rest = SHIPPED.partition("evaluation:\n")
    tail = rest.split("\n\n", 1)[1]
    return f"{head}{section}\n\n{tail}"


@given(EVALUATION, st.integers(1, 9), MOMENT, st.timedeltas(timedelta(0), timedelta(days=90)))
def test_a_borrower_is_due_exactly_when_its_tiers_cadence_has_elapsed(
    evaluation: Evaluation, tier: int, now: datetime, elapsed: timedelta
) -> None:
    last = now - elapsed
    cadence = evaluation.tiers.get(f"T{tier}", evaluation.default)
    expected = cadence is not None and elapsed >= CADENCES[cadence]
    assert is_due(evaluation, tier=tier, last_decided=last, now=now) is expected
    if cadence is not None:  # the query's bound says the same: decided at or before the cutoff
        assert (last <= cutoff(cadence, now)) is expected


def test_cadences_are_fixed_lengths() -> None:
    lengths = {name: CADENCES[name] for name in ("hourly", "daily", "weekly", "monthly")}
    assert lengths == {
        "hourly": timedelta(hours=1),
        "daily": timedelta(days=1),
        "weekly": timedelta(days=7),
        "monthly": timedelta(days=30),
    }
    assert len(CADENCES) == 4
    evaluation = Evaluation(tiers={"T5": "daily"})
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert is_due(evaluation, tier=5, last_decided=now - timedelta(days=1), now=now)
    assert not is_due(evaluation, tier=5, last_decided=now - timedelta(hours=23), now=now)
    assert not is_due(evaluation, tier=4, last_decided=now - timedelta(days=365), now=now)


@given(
    st.sampled_from(["daily", "weekly", "monthly"]),
    st.times().map(lambda t: t.replace(second=0, microsecond=0)),
    st.sampled_from(["UTC", "Asia/Shanghai", "Asia/Tokyo"]),
    MOMENT,
)
def test_a_whole_book_period_starts_at_its_time_of_day_not_after_now_and_is_the_latest(
    every: str, at: time, zone: str, now: datetime
) -> None:
    book = WholeBook(every=every, at=f"{at:%H:%M}", zone=zone)  # type: ignore[arg-type]
    start = period_start(book, now)
    local = start.astimezone(ZoneInfo(zone))
    assert start <= now
    assert local.time() == at
    if every == "weekly":
        assert local.weekday() == 0
        assert now - start < timedelta(days=7)
    elif every == "monthly":
        assert local.day == 1
        assert now - start < timedelta(days=31)
    else:
        assert now - start < timedelta(days=1)
    assert period_start(book, start) == start  # a period starts in itself


def test_a_daily_period_before_its_time_of_day_is_yesterdays() -> None:
    book = WholeBook(every="daily", at="02:00", zone="Asia/Shanghai")
    # 17:59 UTC is 01:59 in Shanghai: today's run (02:00 local = 18:00 UTC) has not started.
    assert period_start(book, datetime(2026, 3, 1, 17, 59, tzinfo=UTC)) == datetime(
        2026, 2, 28, 18, 0, tzinfo=UTC
    )
    assert period_start(book, datetime(2026, 3, 1, 18, 0, tzinfo=UTC)) == datetime(
        2026, 3, 1, 18, 0, tzinfo=UTC
    )


def test_the_shipped_policies_state_their_cadence() -> None:
    policy = load_policy(SHIPPED)
    assert policy.evaluation == Evaluation(
        tiers={"T5": "daily", "T4": "weekly"},
        default="monthly",
        whole_book=WholeBook(every="daily", at="02:00", zone="Asia/Shanghai"),
    )


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ("evaluation:\n  tiers: {T9: daily}", "evaluation.tiers.T9", "the tier input allows T1"),
        ("evaluation:\n  tiers: {high: daily}", "evaluation.tiers", "unknown tier 'high'"),
        ("evaluation:\n  tiers: {T5: fortnightly}", "evaluation.tiers.T5", "'daily'"),
        ("evaluation:\n  default: P1D", "evaluation.default", "'monthly'"),
        (
            "evaluation:\n  whole_book: {every: hourly}",
            "evaluation.whole_book.every",
            "'daily', 'weekly' or 'monthly'",
        ),
        (
            'evaluation:\n  whole_book: {every: daily, at: "2am"}',
            "evaluation.whole_book.at",
            "'2am' is not a time of day",
        ),
        (
            "evaluation:\n  whole_book: {every: daily, zone: Mars/Olympus}",
            "evaluation.whole_book.zone",
            "unknown time zone 'Mars/Olympus'",
        ),
        ("evaluation:\n  every: daily", "evaluation.every", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_evaluation_section_is_refused_with_the_field_named(
    section: str, field: str, message: str
) -> None:
    with pytest.raises(PolicyInvalid) as refused:
        load_policy(with_evaluation(section))
    problems = [(p.field, p.message) for p in refused.value.problems]
    assert any(f == field and message in m for f, m in problems), problems


def test_the_content_hash_and_the_diff_cover_the_evaluation_section() -> None:
    shipped = load_policy(SHIPPED)
    weekly = load_policy(with_evaluation("evaluation:\n  tiers: {T5: weekly}"))
    without = shipped.model_copy(update={"evaluation": None})
    assert len({content_hash(shipped), content_hash(weekly), content_hash(without)}) == 3
    # Without the section the document is what it was before the section existed.
    assert "evaluation" not in without.model_dump(mode="json")
    changes = {c.field: (c.before, c.after) for c in diff_policies(shipped, weekly).document}
    assert changes["evaluation.tiers"] == ({"T5": "daily", "T4": "weekly"}, {"T5": "weekly"})
    assert changes["evaluation.default"] == ("monthly", None)
    assert "evaluation.whole_book" in changes


def test_a_decision_run_must_say_what_caused_it_in_the_vocabulary() -> None:
    assert triggers.cadence(5, "daily") == "cadence:T5 daily"
    assert triggers.whole_book("weekly") == "whole_book weekly"
    for known in ("events", "cli", "review", "appeal", "cadence:T5 daily", "whole_book daily"):
        assert DecideBorrowers(trigger=known).trigger == known
    for unknown in ("", "nightly", "cadence:T5 yearly", "whole_book hourly", "cli "):
        with pytest.raises(ValueError, match="unknown decision-run trigger"):
            DecideBorrowers(trigger=unknown)
