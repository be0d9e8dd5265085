"""Control charts: EWMA with its exact time-varying limits and tabular CUSUM match their
textbook recursions; no alarm during warm-up; a flat series never alarms; a step of 3σ or more
is caught within a bounded number of days; the alarm says what moved, since when, how far."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.monitoring import CusumParams, EwmaParams, chart, current_alarm, load_thresholds
from repayguard.monitoring.detectors import cusum_chart, ewma_chart, first_alarm

START = date(2026, 1, 1)
WARMUP = 30


def _days(n: int) -> tuple[date, ...]:
    return tuple(START + timedelta(days=i) for i in range(n))


def test_ewma_follows_its_recursion_with_the_exact_variance_factor() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(10.0, 2.0, 80)
    params = EwmaParams(lam=0.3, width=2.8)
    found = ewma_chart(_days(80), values, params=params, warmup=WARMUP)
    mean, sigma = values[:WARMUP].mean(), values[:WARMUP].std(ddof=1)
    z = mean
    for i, x in enumerate(values[WARMUP:], start=1):
        z = 0.3 * x + 0.7 * z
        half = 2.8 * sigma * np.sqrt(0.3 / 1.7 * (1 - 0.7 ** (2 * i)))
        assert found.up[WARMUP + i - 1] == pytest.approx(z)
        assert found.upper[WARMUP + i - 1] == pytest.approx(mean + half)
        assert found.lower[WARMUP + i - 1] == pytest.approx(mean - half)


def test_cusum_follows_the_tabular_recursion() -> None:
    rng = np.random.default_rng(4)
    values = rng.normal(0.0, 1.0, 90)
    values[60:] += 1.0
    found = cusum_chart(_days(90), values, params=CusumParams(k=0.5, h=4.0), warmup=WARMUP)
    mean, sigma = values[:WARMUP].mean(), values[:WARMUP].std(ddof=1)
    high = low = 0.0
    for i, x in enumerate(values[WARMUP:]):
        high = max(0.0, high + x - mean - 0.5 * sigma)
        low = max(0.0, low + mean - 0.5 * sigma - x)
        assert found.up[WARMUP + i] == pytest.approx(high)
        assert found.down[WARMUP + i] == pytest.approx(-low)
        assert found.alarm_up[WARMUP + i] == (high > 4.0 * sigma)


PARAMS = st.one_of(
    st.builds(EwmaParams, lam=st.floats(0.05, 1.0), width=st.floats(2.0, 4.0)),
    st.builds(CusumParams, k=st.floats(0.0, 1.0), h=st.floats(3.0, 8.0)),
)


@settings(max_examples=60, deadline=None)
@given(
    params=PARAMS,
    seed=st.integers(0, 2**32 - 1),
    warmup=st.integers(7, 40),
    wild=st.floats(-1e6, 1e6),
)
def test_no_alarm_during_warm_up(params: EwmaParams | CusumParams, seed: int, warmup: int,
                                 wild: float) -> None:  # fmt: skip
    values = np.random.default_rng(seed).normal(0, 1, warmup + 20)
    values[warmup // 2] = wild  # however wild the warm-up, it only sets the baseline
    found = chart(_days(len(values)), values, params=params, warmup=warmup)
    assert not found.alarm[:warmup].any()
    assert np.isnan(found.up[:warmup]).all()


@settings(max_examples=60, deadline=None)
@given(
    params=PARAMS,
    level=st.floats(-1e6, 1e6, allow_nan=False),
    n=st.integers(10, 200),
    direction=st.sampled_from(["up", "down", "both"]),
)
def test_a_constant_series_never_alarms(params: EwmaParams | CusumParams, level: float, n: int,
                                        direction: str) -> None:  # fmt: skip
    found = chart(
        _days(n),
        np.full(n, level),
        params=params,
        warmup=7,
        direction=direction,  # type: ignore[arg-type]
    )
    assert not found.alarm.any()
    assert current_alarm(found, metric="m", segment="s") is None


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    shift=st.floats(3.0, 10.0),
    sign=st.sampled_from([1.0, -1.0]),
    detector=st.sampled_from(["ewma", "cusum"]),
)
def test_a_step_of_three_sigma_or_more_is_caught_within_ten_days(
    seed: int, shift: float, sign: float, detector: str
) -> None:
    """With the shipped parameters and warm-up; the ARL of a 3σ step is about 3 days
    (docs/incidents.md), so ten days bounds it far into the tail without making it flaky."""
    shipped = load_thresholds().metrics[0]
    rng = np.random.default_rng(seed)
    warmup, at = shipped.warmup_days, shipped.warmup_days + 14
    values = rng.normal(0.0, 1.0, at + 30)
    sigma = values[:warmup].std(ddof=1)  # the chart's own σ: the shift is 3σ as it sees it
    values[at:] += sign * shift * sigma
    params = next(p for p in shipped.detectors if detector in type(p).__name__.lower())
    found = chart(_days(len(values)), values, params=params, warmup=warmup)
    hit = first_alarm(found, after=at)
    assert hit is not None
    assert hit - at < 10


def test_the_alarm_says_what_moved_since_when_and_how_far() -> None:
    values = np.concatenate([np.tile([0.049, 0.051], 30), np.full(8, 0.058)])
    found = chart(_days(68), values, params=EwmaParams(), warmup=56, direction="up")
    alarm = current_alarm(found, metric="overdue_rate_1p", segment="T3")
    assert alarm is not None
    first = first_alarm(found)
    assert first is not None
    assert alarm.since == START + timedelta(days=first)
    assert alarm.direction == "up"
    assert alarm.last_day == START + timedelta(days=67)
    assert alarm.baseline == pytest.approx(0.05)
    run = values[first:]
    assert alarm.value == pytest.approx(run.mean())
    assert alarm.deviation_sigma == pytest.approx((run.mean() - 0.05) / found.sigma)
    assert alarm.change_pct == pytest.approx(100 * (run.mean() - 0.05) / 0.05)
    assert len(alarm.evidence) == 68
    assert alarm.evidence[-1].alarm


def test_a_rise_does_not_alarm_a_chart_watching_for_falls() -> None:
    values = np.concatenate([np.tile([1.0, 1.2], 28), np.full(10, 3.0)])
    found = chart(_days(66), values, params=CusumParams(), warmup=56, direction="down")
    assert not found.alarm.any()
    both = chart(_days(66), values, params=CusumParams(), warmup=56, direction="both")
    alarm = current_alarm(both, metric="m", segment="s")
    assert alarm is not None
    assert alarm.direction == "up"


def test_bad_series_are_refused_with_what_is_wrong() -> None:
    with pytest.raises(ValueError, match="fewer than the 30-day warm-up"):
        chart(_days(10), np.zeros(10), params=EwmaParams(), warmup=30)
    with pytest.raises(ValueError, match="finite"):
        chart(_days(40), np.full(40, np.nan), params=EwmaParams(), warmup=30)
    with pytest.raises(ValueError, match="lambda"):
        EwmaParams(lam=0)
