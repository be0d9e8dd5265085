"""Control charts over one daily metric series: EWMA and tabular CUSUM, pure (no DB, no clock).

A chart has two parts. The first ``warmup`` points estimate the in-control mean ``μ0`` and
standard deviation ``σ`` (sample standard deviation, floored at ``min_sigma`` so a flat
warm-up does not make every later wobble infinitely many σ away); no alarm is raised there.
Every later point is charted against them:

* **EWMA**: ``z_i = λ·x_i + (1−λ)·z_{i−1}``, ``z_0 = μ0``; limits
  ``μ0 ± L·σ·sqrt(λ/(2−λ)·(1−(1−λ)^{2i}))`` — the exact, time-varying variance of ``z_i``, so
  the first points after warm-up are not held to the asymptotic (wider) limits.
* **CUSUM** (tabular, in σ units): ``C⁺_i = max(0, C⁺_{i−1} + x_i − μ0 − kσ)`` and
  ``C⁻_i = max(0, C⁻_{i−1} + μ0 − kσ − x_i)``, both from 0; out of control above ``hσ``.
  ``C⁺`` is computed without a loop: with ``S`` the running sum of ``x − μ0 − kσ`` (``S_0 = 0``),
  ``C⁺_i = S_i − min(0, min_{j≤i} S_j)``.

Every chart reports per point an upward statistic and a downward one with the upper and lower
limit (EWMA: both are ``z``; CUSUM: ``C⁺`` and ``−C⁻`` against ``±hσ``), so one plot and one
rule (``up > upper`` / ``down < lower``) serve both. An :class:`Alarm` is the run of
out-of-control points that is still going on at the last point, in the chart's direction.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import polars as pl

Direction = Literal["up", "down", "both"]
DIRECTIONS: Final = ("up", "down", "both")
EWMA: Final = "ewma"
CUSUM: Final = "cusum"
DETECTORS: Final = (EWMA, CUSUM)

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class EwmaParams:
    """``lam`` (λ, 0 < λ ≤ 1): weight of the newest point; ``width`` (L): limits in σ of z."""

    lam: float = 0.2
    width: float = 3.0

    def __post_init__(self) -> None:
        if not 0 < self.lam <= 1:
            raise ValueError(f"EWMA lambda must be in (0, 1], not {self.lam}")
        if self.width <= 0:
            raise ValueError(f"EWMA width L must be positive, not {self.width}")


@dataclass(frozen=True, slots=True)
class CusumParams:
    """``k``: the allowance (half the shift to detect), ``h``: the decision interval; both
    in σ of the series."""

    k: float = 0.5
    h: float = 5.0

    def __post_init__(self) -> None:
        if self.k < 0:
            raise ValueError(f"CUSUM k must not be negative, not {self.k}")
        if self.h <= 0:
            raise ValueError(f"CUSUM h must be positive, not {self.h}")


Params = EwmaParams | CusumParams


@dataclass(frozen=True, slots=True)
class Chart:
    """One detector over one series. Arrays are aligned with ``days``; the statistics and
    limits are NaN during warm-up, where ``alarm`` is always False."""

    detector: str
    direction: Direction
    days: tuple[date, ...]
    values: FloatArray
    up: FloatArray
    down: FloatArray
    upper: FloatArray
    lower: FloatArray
    alarm_up: BoolArray
    alarm_down: BoolArray
    warmup: int
    mean: float
    sigma: float

    @property
    def alarm(self) -> BoolArray:
        """Out of control in the chart's direction, per point."""
        if self.direction == "up":
            return self.alarm_up
        if self.direction == "down":
            return self.alarm_down
        return self.alarm_up | self.alarm_down


@dataclass(frozen=True, slots=True)
class EvidencePoint:
    """One day of a chart as an incident keeps it (None where the chart was warming up)."""

    day: date
    value: float
    up: float | None
    down: float | None
    upper: float | None
    lower: float | None
    alarm: bool


@dataclass(frozen=True, slots=True)
class Alarm:
    """A metric out of control now: ``since`` is the first day of the current out-of-control
    run, ``value`` the metric's mean over that run, ``deviation_sigma`` and ``change_pct`` how
    far that is from the in-control ``baseline`` (in σ and in % of the baseline; None when the
    baseline is 0). ``evidence`` is the whole chart."""

    metric: str
    segment: str
    detector: str
    direction: Literal["up", "down"]
    since: date
    last_day: date
    value: float
    baseline: float
    sigma: float
    deviation_sigma: float
    change_pct: float | None
    evidence: tuple[EvidencePoint, ...]


def _baseline(values: FloatArray, warmup: int, min_sigma: float) -> tuple[float, float]:
    if warmup < 2:
        raise ValueError(f"warm-up needs at least 2 points, not {warmup}")
    head = values[:warmup]
    mean = float(head.mean())
    spread = float(head.std(ddof=1))
    # A floor relative to the level keeps rounding noise of a flat series from reading as σ > 0
    # while a real change is still many σ away.
    floor = max(min_sigma, 1e-9 * max(1.0, abs(mean)))
    return mean, max(spread, floor)


def _checked(days: tuple[date, ...], values: FloatArray, warmup: int) -> None:
    if len(days) != len(values):
        raise ValueError(f"{len(days)} days but {len(values)} values")
    if not np.all(np.isfinite(values)):
        raise ValueError("a charted series must have a finite value every day")
    if any(b <= a for a, b in itertools.pairwise(days)):
        raise ValueError("days must be strictly increasing")
    if len(values) < warmup:
        raise ValueError(f"{len(values)} points are fewer than the {warmup}-day warm-up")


@dataclass(frozen=True, slots=True)
class _Baseline:
    """A checked series split at the warm-up, with the in-control mean and σ."""

    values: FloatArray
    tail: FloatArray
    mean: float
    sigma: float


def _prepared(
    days: tuple[date, ...], values: FloatArray, warmup: int, min_sigma: float
) -> _Baseline:
    series = np.asarray(values, dtype=np.float64)
    _checked(days, series, warmup)
    mean, sigma = _baseline(series, warmup, min_sigma)
    return _Baseline(series, series[warmup:], mean, sigma)


def _assembled(
    detector: str,
    days: tuple[date, ...],
    base: _Baseline,
    tail: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    *,
    warmup: int,
    direction: Direction,
) -> Chart:
    """The chart from the charted part's up, down, upper and lower (warm-up padded with NaN,
    never in alarm)."""
    nan = np.full(warmup, np.nan)
    up, down, upper, lower = (np.concatenate([nan, part]) for part in tail)
    quiet = np.zeros(warmup, dtype=bool)
    alarm_up = np.concatenate([quiet, tail[0] > tail[2]])
    alarm_down = np.concatenate([quiet, tail[1] < tail[3]])
    return Chart(
        detector, direction, days, base.values, up, down, upper, lower, alarm_up, alarm_down,
        warmup, base.mean, base.sigma,
    )  # fmt: skip


def ewma_chart(
    days: tuple[date, ...],
    values: FloatArray,
    *,
    params: EwmaParams,
    warmup: int,
    direction: Direction = "both",
    min_sigma: float = 0.0,
) -> Chart:
    """The EWMA chart of ``values`` after a ``warmup``-point baseline (see module docstring)."""
    base = _prepared(days, values, warmup, min_sigma)
    lam = params.lam
    decay = (1.0 - lam) ** np.arange(1, len(base.tail) + 1, dtype=np.float64)
    # Polars' recursive EWM (adjust=False) is exactly z_i = λx_i + (1−λ)z_{i−1}; seeding it
    # with μ0 as the first element makes z_0 = μ0.
    seeded = pl.Series(np.concatenate([[base.mean], base.tail]), dtype=pl.Float64)
    z = seeded.ewm_mean(alpha=lam, adjust=False).to_numpy()[1:]
    half = params.width * base.sigma * np.sqrt(lam / (2.0 - lam) * (1.0 - decay**2))
    return _assembled(
        EWMA, days, base, (z, z, base.mean + half, base.mean - half), warmup=warmup,
        direction=direction,
    )  # fmt: skip


def _reset_at_zero(steps: FloatArray) -> FloatArray:
    """``C_i = max(0, C_{i−1} + s_i)`` from ``C_0 = 0``, without a loop."""
    running = np.cumsum(steps)
    return running - np.minimum(np.minimum.accumulate(running), 0.0)


def cusum_chart(
    days: tuple[date, ...],
    values: FloatArray,
    *,
    params: CusumParams,
    warmup: int,
    direction: Direction = "both",
    min_sigma: float = 0.0,
) -> Chart:
    """The two-sided tabular CUSUM of ``values`` after a ``warmup``-point baseline."""
    base = _prepared(days, values, warmup, min_sigma)
    allowance = params.k * base.sigma
    high = _reset_at_zero(base.tail - base.mean - allowance)
    low = _reset_at_zero(base.mean - allowance - base.tail)
    limit = np.full(len(base.tail), params.h * base.sigma)
    return _assembled(
        CUSUM, days, base, (high, -low, limit, -limit), warmup=warmup, direction=direction
    )


def chart(
    days: tuple[date, ...],
    values: FloatArray,
    *,
    params: Params,
    warmup: int,
    direction: Direction = "both",
    min_sigma: float = 0.0,
) -> Chart:
    """The chart ``params`` asks for (EWMA or CUSUM)."""
    if isinstance(params, EwmaParams):
        return ewma_chart(
            days, values, params=params, warmup=warmup, direction=direction, min_sigma=min_sigma
        )
    return cusum_chart(
        days, values, params=params, warmup=warmup, direction=direction, min_sigma=min_sigma
    )


def _maybe(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def evidence(found: Chart) -> tuple[EvidencePoint, ...]:
    """Every point of the chart, as an incident stores it."""
    alarm = found.alarm
    return tuple(
        EvidencePoint(
            day=found.days[i],
            value=float(found.values[i]),
            up=_maybe(found.up[i]),
            down=_maybe(found.down[i]),
            upper=_maybe(found.upper[i]),
            lower=_maybe(found.lower[i]),
            alarm=bool(alarm[i]),
        )
        for i in range(len(found.days))
    )


def first_alarm(found: Chart, *, after: int = 0) -> int | None:
    """Index of the first out-of-control point at or after ``after``, or None."""
    hits = np.flatnonzero(found.alarm[after:])
    return int(hits[0]) + after if len(hits) else None


def current_alarm(found: Chart, *, metric: str, segment: str) -> Alarm | None:
    """The alarm of the out-of-control run that includes the last point, if there is one.
    With direction ``both``, the side out of control on the last day names the direction."""
    if not len(found.days):
        return None
    last = len(found.days) - 1
    if found.direction != "down" and found.alarm_up[last]:
        side: Literal["up", "down"] = "up"
        flags = found.alarm_up
    elif found.direction != "up" and found.alarm_down[last]:
        side, flags = "down", found.alarm_down
    else:
        return None
    start = last
    while start > found.warmup and flags[start - 1]:
        start -= 1
    value = float(found.values[start:].mean())
    change = value - found.mean
    return Alarm(
        metric=metric,
        segment=segment,
        detector=found.detector,
        direction=side,
        since=found.days[start],
        last_day=found.days[last],
        value=value,
        baseline=found.mean,
        sigma=found.sigma,
        deviation_sigma=change / found.sigma,
        change_pct=None if found.mean == 0 else 100.0 * change / abs(found.mean),
        evidence=evidence(found),
    )
