"""G3 as a property: whatever a run's as-of time, the wall clock and the notice period, a
restriction never takes effect before its advance notice plus the period (pure: no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from repayguard.entitlements import METHODS, Entitlement, MethodStates, tightens, told_at
from repayguard.entitlements.states import announce
from repayguard.notices.planning import NoticeKind, announced_late, plan_change

CHANNELS = ("app_balance", "bank_card", "counter", "bank_transfer")
DEFAULTS = MethodStates("optional", "allowed", "allowed", CHANNELS)

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
notice_days = st.integers(min_value=0, max_value=90)
states = st.builds(
    MethodStates,
    st.sampled_from(["optional", "mandatory", "disabled"]),
    st.sampled_from(["allowed", "restricted"]),
    st.sampled_from(["allowed", "forced"]),
    st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=4, unique=True).map(tuple),
)


def _entitlement(
    after: MethodStates, interim: MethodStates | None, effective_at: datetime
) -> Entitlement:
    return Entitlement(
        borrower_id="B1",
        states=after,
        interim=interim,
        effective_at=effective_at,
        expires_at=None,
        review_at=None,
        reasons=("REPEATED_FAILED_DEBITS",),
        decision_id="d1",
        rule_id="some-rule",
        tier=4,
        tier_since=None,
    )


@given(before=states, after=states, as_of=moments, now=moments, days=notice_days)
def test_no_restriction_takes_effect_before_a_full_notice_from_the_wall_clock(
    before: MethodStates, after: MethodStates, as_of: datetime, now: datetime, days: int
) -> None:
    told = told_at(as_of, now=now)
    interim, effective_at = announce(before, after, told=told, notice_days=days)
    entitlement = _entitlement(after, interim, effective_at)
    taken = [m for m in METHODS if tightens(m, before, after)]

    assert effective_at >= now, "nothing a run decides takes effect in the past"
    if taken and days:
        assert interim is not None
        assert effective_at >= now + timedelta(days=days)
        assert effective_at >= as_of + timedelta(days=days)
        for moment in (now, effective_at - timedelta(microseconds=1)):
            in_force = entitlement.states_at(moment)
            assert not any(tightens(m, before, in_force) for m in METHODS), (
                "until the period has run from when the borrower is told, nothing is taken away"
            )
    else:
        assert (interim, effective_at) == (None, told)


@given(
    after=states,
    told=moments,
    lag=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)),
    days=st.integers(min_value=1, max_value=90),
)
def test_an_advance_notice_written_late_still_gives_the_whole_period(
    after: MethodStates, told: datetime, lag: timedelta, days: int
) -> None:
    interim, effective_at = announce(DEFAULTS, after, told=told, notice_days=days)
    if interim is None:  # nothing taken away: nothing to announce
        return
    written = told + lag
    entitlement = _entitlement(after, interim, effective_at)
    if announced_late(None, entitlement, told_at=told, now=written):
        # What notices does through entitlements.timed.defer, in the notice's transaction.
        entitlement = replace(entitlement, effective_at=entitlement.effective_at + lag)

    plan = plan_change(None, entitlement, defaults=DEFAULTS, now=written)

    assert plan is not None
    assert plan.kind == NoticeKind.ADVANCE, "told in advance however late the notice is written"
    assert plan.effective_at is not None
    assert plan.effective_at >= written + timedelta(days=days)
