"""Benchmark: the detectors' in-control false-alarm rate (alarms per metric-year) and their
average run lengths (ARL0 in control, ARL1 after a 3σ step) on shock-free simulated daily
series of every metric the shipped thresholds watch; prints JSON.

Noise model (docs/incidents.md, "Measured"): a rate metric is Binomial(n_t, p)/n_t with the
day's denominator n_t ~ Poisson(n); a count per day is Poisson(λ); score PSI is the PSI of
a day's 2,000 scores drawn from the reference distribution over 10 equal bins (so it is
positive and skewed, as real PSI is); a market signal is Normal(level, sd). Days are
independent: no trend, seasonality or shock.

False alarms are counted as the ``monitoring.detect`` job would open incidents: every day the
last ``lookback_days`` are charted afresh (baseline re-estimated over the warm-up), and an
alarm counts when its run starts after the last day an earlier alarm covered (the job's rule;
every incident assumed resolved at once). ARLs use one fixed baseline per replicate.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

from repayguard.monitoring import chart, load_thresholds
from repayguard.monitoring.detection_job import segment_alarm
from repayguard.monitoring.detectors import Params, first_alarm
from repayguard.monitoring.thresholds import MetricThresholds

Draw = Callable[[np.random.Generator, int], tuple[np.ndarray, np.ndarray]]
"""(rng, days) -> (value, denominator) per day."""


def binomial(p: float, n: int) -> Draw:
    def draw(rng: np.random.Generator, days: int) -> tuple[np.ndarray, np.ndarray]:
        size = rng.poisson(n, days).clip(1)
        return rng.binomial(size, p) / size, size.astype(float)

    return draw


def poisson(lam: float) -> Draw:
    def draw(rng: np.random.Generator, days: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.poisson(lam, days).astype(float), np.full(days, np.nan)

    return draw


def psi(n: int, bins: int = 10) -> Draw:
    def draw(rng: np.random.Generator, days: int) -> tuple[np.ndarray, np.ndarray]:
        expected = np.full(bins, 1 / bins)
        shares = (rng.multinomial(n, expected, size=days) + 0.5) / (n + 0.5 * bins)
        return ((shares - expected) * np.log(shares / expected)).sum(axis=1), np.full(days, n)

    return draw


def normal(level: float, sd: float) -> Draw:
    def draw(rng: np.random.Generator, days: int) -> tuple[np.ndarray, np.ndarray]:
        return rng.normal(level, sd, days), np.full(days, np.nan)

    return draw


MODELS: dict[str, Draw] = {
    "overdue_rate_1p": binomial(0.08, 20_000),
    "overdue_rate_30p": binomial(0.02, 20_000),
    "failed_autodebit_rate": binomial(0.05, 8_000),
    "roll_rate_current_1_29": binomial(0.03, 18_000),
    "roll_rate_1_29_30_59": binomial(0.25, 1_200),
    "roll_rate_30_59_60p": binomial(0.40, 300),
    "restricted_auto_debit_disabled": binomial(0.15, 20_000),
    "restricted_auto_debit_mandatory": binomial(0.10, 20_000),
    "restricted_early_repayment": binomial(0.10, 20_000),
    "restricted_manual_forced": binomial(0.05, 20_000),
    "autodebit_adoption": binomial(0.60, 20_000),
    "notices_per_day": poisson(400),
    "complaints_per_day": poisson(3),
    "approvals_waiting": poisson(5),
    "score_psi": psi(2_000),
    "market_signal:unemployment_rate": normal(5.2, 0.05),
}
START = date(2020, 1, 1)


@dataclass(frozen=True, slots=True)
class Rates:
    alarms: int
    years: float


def false_alarms(watch: MetricThresholds, draw: Draw, lookback: int, years: int,
                 seed: int) -> Rates:  # fmt: skip
    """Alarms the detection job would open over ``years`` of in-control days."""
    rng = np.random.default_rng(seed)
    total = lookback + years * 365
    values, denominators = draw(rng, total)
    frame = pl.DataFrame(
        {
            "day": [START + timedelta(days=i) for i in range(total)],
            "value": values,
            "denominator": denominators,
        }
    )
    covered: dict[str, date] = {}
    alarms = 0
    for end in range(lookback, total + 1):
        window = frame.slice(end - lookback, lookback)
        window = window.filter(
            pl.col("denominator").is_nan() | (pl.col("denominator") >= watch.min_denominator)
        )
        alarm = segment_alarm(window, watch, watch.metric, "all")
        if alarm is None:
            continue
        if alarm.since > covered.get(alarm.direction, date.min):
            alarms += 1
        covered[alarm.direction] = alarm.last_day
    return Rates(alarms, years)


def run_lengths(params: Params, watch: MetricThresholds, draw: Draw, *, shift: float,
                reps: int, horizon: int, seed: int) -> dict[str, float]:  # fmt: skip
    """Days from the first charted day (or the step) to the first alarm, over ``reps``
    replicates; ``shift`` in σ of the in-control series (0: ARL0)."""
    rng = np.random.default_rng(seed)
    sd = float(np.std(draw(rng, 20_000)[0], ddof=1))
    lengths, censored = [], 0
    days = tuple(START + timedelta(days=i) for i in range(watch.warmup_days + horizon))
    for _ in range(reps):
        values = draw(rng, len(days))[0]
        values[watch.warmup_days :] += shift * sd
        found = chart(
            days, values, params=params, warmup=watch.warmup_days,
            direction=watch.direction if shift == 0 else "both", min_sigma=watch.min_sigma,
        )  # fmt: skip
        hit = first_alarm(found, after=watch.warmup_days)
        if hit is None:
            censored += 1
            lengths.append(horizon)
        else:
            lengths.append(hit - watch.warmup_days + 1)
    return {
        "mean": round(float(np.mean(lengths)), 1),
        "median": float(np.median(lengths)),
        "censored_at_horizon": censored,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--years", type=int, default=5, help="simulated years per metric")
    parser.add_argument("--reps", type=int, default=100, help="replicates per ARL")
    parser.add_argument("--horizon", type=int, default=3_000, help="ARL0 days before censoring")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    thresholds = load_thresholds()
    started = time.perf_counter()
    report: dict[str, object] = {}
    alarms = years = 0.0
    for index, watch in enumerate(thresholds.metrics):
        draw = MODELS[watch.metric]
        rates = false_alarms(watch, draw, thresholds.lookback_days, args.years, args.seed + index)
        alarms += rates.alarms
        years += rates.years
        detectors: dict[str, object] = {}
        for params in watch.detectors:
            name = type(params).__name__.removesuffix("Params").lower()
            detectors[name] = {
                "arl0": run_lengths(params, watch, draw, shift=0.0, reps=args.reps,
                                    horizon=args.horizon, seed=args.seed + index),
                "arl1_3sigma": run_lengths(params, watch, draw, shift=3.0, reps=args.reps,
                                           horizon=args.horizon, seed=args.seed + index),
            }  # fmt: skip
        report[watch.metric] = {
            "false_alarms_per_year": round(rates.alarms / rates.years, 2),
            "detectors": detectors,
        }
    print(
        json.dumps(
            {
                "benchmark": "false_alarms",
                "thresholds_version": thresholds.version,
                "years_per_metric": args.years,
                "false_alarms_per_metric_year": round(alarms / years, 2),
                "metrics": report,
                "seconds": round(time.perf_counter() - started, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
