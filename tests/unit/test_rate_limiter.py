"""The rate limiter's budgets in memory: windows aligned to the clock, the numbers the headers
carry, per-token overrides, and settings refused with a clear message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from repayguard.api.ratelimit import ProcessCounters, RateLimiter, build_limiter
from repayguard.config import RateLimitSettings, Settings
from repayguard.platform.clock import FixedClock

HOUR_START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _limiter(clock: FixedClock, **settings: object) -> RateLimiter:
    return RateLimiter(RateLimitSettings.model_validate(settings), clock=clock)


def test_a_fixed_window_counts_down_then_refuses_until_the_clock_reaches_its_end() -> None:
    clock = FixedClock(HOUR_START + timedelta(minutes=15))
    limiter = _limiter(clock, api="2/hour")
    first, second, third = (limiter.check("api", "tok-a") for _ in range(3))
    assert first is not None
    assert second is not None
    assert third is not None
    assert (first.allowed, first.limit, first.remaining, first.reset_seconds) == (
        True,
        2,
        1,
        45 * 60,
    )
    assert (second.allowed, second.remaining) == (True, 0)
    assert (third.allowed, third.remaining, third.reset_seconds) == (False, 0, 45 * 60)
    clock.advance(timedelta(minutes=45) - timedelta(microseconds=1))
    late = limiter.check("api", "tok-a")
    assert late is not None
    assert not late.allowed
    assert late.reset_seconds == 1
    clock.advance(timedelta(microseconds=1))  # the next window
    fresh = limiter.check("api", "tok-a")
    assert fresh is not None
    assert (fresh.allowed, fresh.remaining, fresh.reset_seconds) == (
        True,
        1,
        3600,
    )


def test_a_check_at_a_given_time_counts_in_that_times_window_not_the_clocks() -> None:
    # The fast path reads the clock once per call and hands that reading to every part.
    clock = FixedClock(HOUR_START + timedelta(minutes=15))
    limiter = _limiter(clock, api="1/hour")
    spent = limiter.check("api", "tok-a")
    refused = limiter.check("api", "tok-a", now=clock.now())
    next_hour = limiter.check("api", "tok-a", now=HOUR_START + timedelta(hours=1, minutes=50))
    assert spent is not None
    assert refused is not None
    assert next_hour is not None
    assert (spent.allowed, refused.allowed) == (True, False)
    assert (next_hour.allowed, next_hour.remaining, next_hour.reset_seconds) == (True, 0, 600)


def test_each_token_and_each_route_class_has_a_budget_of_its_own() -> None:
    limiter = _limiter(FixedClock(HOUR_START), api="1/hour", authorize="1/hour")
    spent = [limiter.check("api", "tok-a") for _ in range(2)]
    assert [v.allowed for v in spent if v is not None] == [True, False]
    other = limiter.check("api", "tok-b")
    authorize = limiter.check("authorize", "tok-a")
    assert other is not None
    assert other.allowed
    assert authorize is not None
    assert authorize.allowed


def test_a_token_override_replaces_the_class_budget_for_that_token_only() -> None:
    limiter = _limiter(
        FixedClock(HOUR_START), authorize="1/hour", overrides={"tok-big": {"authorize": "5/hour"}}
    )
    big = [limiter.check("authorize", "tok-big") for _ in range(5)]
    assert all(v is not None and v.allowed and v.limit == 5 for v in big)
    small = [limiter.check("authorize", "tok-small") for _ in range(2)]
    assert [v.allowed for v in small if v is not None] == [True, False]


def test_a_resolved_budget_counts_in_the_same_window_as_check_and_keeps_the_override() -> None:
    clock = FixedClock(HOUR_START + timedelta(minutes=59, seconds=59.5))
    limiter = _limiter(clock, authorize="1/hour", overrides={"tok-big": {"authorize": "3/hour"}})
    budget = limiter.budget("authorize", "tok-big")
    at = clock.now().timestamp()

    charged = limiter.charge(budget, at)
    checked = limiter.check("authorize", "tok-big")
    last, over = limiter.charge(budget, at), limiter.charge(budget, at)

    assert (charged.limit, charged.remaining, charged.reset_seconds) == (3, 2, 1)
    assert checked is not None
    assert checked.remaining == 1, "one counter for both ways in"
    assert (last.allowed, over.allowed, over.remaining) == (True, False, 0)
    assert limiter.budget("authorize", "tok-big") is budget, "resolved once"
    assert limiter.charge(budget, at + 0.5).allowed, "the next hour's window"


def test_the_headers_carry_limit_remaining_reset_and_retry_after_only_on_a_refusal() -> None:
    limiter = _limiter(FixedClock(HOUR_START + timedelta(seconds=0.5)), login="1/minute")
    allowed, refused = limiter.check("login", "10.0.0.1"), limiter.check("login", "10.0.0.1")
    assert allowed is not None
    assert refused is not None
    assert allowed.headers() == [
        (b"ratelimit-limit", b"1"),
        (b"ratelimit-remaining", b"0"),
        (b"ratelimit-reset", b"60"),  # 59.5 s, rounded up: never "retry now" too early
    ]
    assert dict(refused.headers())[b"retry-after"] == b"60"
    problem = refused.refusal()
    assert (problem.code, problem.http_status) == ("rate_limited", 429)
    assert "address is over its login rate limit (1 per 1 minute)" in problem.message
    assert problem.hint is not None
    assert problem.hint.startswith("retry in 60 s")


def test_the_moving_window_strategy_refuses_past_its_budget() -> None:
    limiter = _limiter(FixedClock(HOUR_START), strategy="moving-window", api="2/hour")
    verdicts = [limiter.check("api", "tok-moving") for _ in range(3)]
    assert [(v.allowed, v.remaining) for v in verdicts if v is not None] == [
        (True, 1),
        (True, 0),
        (False, 0),
    ]


def test_nothing_is_limited_when_switched_off_or_when_access_control_is_off() -> None:
    clock = FixedClock(HOUR_START)
    assert build_limiter(Settings(rate_limit={"enabled": False}), clock=clock, meter=None) is None
    assert build_limiter(Settings(security={"auth": "off"}), clock=clock, meter=None) is None
    assert isinstance(build_limiter(Settings(), clock=clock, meter=None), RateLimiter)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"api": "lots"}, "REPAYGUARD_RATE_LIMIT__API is 'lots', not a rate limit"),
        (
            {"overrides": {"tok-1": {"authorize": "fast"}}},
            "OVERRIDES['tok-1']['authorize'] is 'fast', not a rate limit",
        ),
        ({"storage_uri": "memcached://127.0.0.1"}, "has the scheme 'memcached'; use memory://"),
    ],
)
def test_unreadable_settings_are_refused_saying_what_to_write(
    settings: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Settings(rate_limit=settings)


def test_process_counters_forget_windows_that_ended_and_keep_the_live_ones() -> None:
    counters = ProcessCounters()
    assert counters.incr("ended", 0, now=0.0, ends_at=1.0) == 1
    assert counters.incr("live", 0, now=0.5, ends_at=3600.0) == 1
    assert counters.incr("live", 0, now=0.6, ends_at=3600.0) == 2
    assert len(counters) == 2  # the next sweep is a minute after the first
    assert counters.incr("new", 61, now=61.0, ends_at=62.0) == 1
    assert len(counters) == 2  # "ended" is gone
    assert counters.incr("live", 0, now=61.5, ends_at=3600.0) == 3
    assert counters.incr("live", 1, now=3600.0, ends_at=7200.0) == 1  # a new window
