"""Benchmark: false alarms of the shipped detectors on a shock-free synthetic year through the
real pipeline (generator -> ingest -> decisions -> ``daily_series`` -> the detection job's
``scan`` with the shipped thresholds); prints JSON.

The generated book opens every line on its first day, so its overdue and roll rates trend up
while it matures; ``--burn-in-months`` are generated and ingested but never measured (they may
still fall inside a chart's 150-day lookback). Every borrower is decided every
``--decide-every`` days (the worker's cadence decides the riskier tiers about that often).
The series is computed once for the charted range; each measured day is then scanned as the
job would scan it that day (the series of a past day does not change in a replay), and an
alarm counts as the job opens an incident: when its run starts after the last day an earlier
alarm of that metric, segment and direction covered (every incident resolved at once).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl

from repayguard import monitoring
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.ingestion import expand_paths, ingest_files
from repayguard.monitoring.detection_job import scan
from repayguard.simulation import PortfolioSpec, generate_portfolio

from _common import embedded

START = datetime(2025, 1, 1, tzinfo=UTC)


def _at_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--borrowers", type=int, default=1_000)
    parser.add_argument("--months", type=int, default=12, help="measured months")
    parser.add_argument("--burn-in-months", type=int, default=6)
    parser.add_argument("--decide-every", type=int, default=7, help="days between decisions")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()

    thresholds = monitoring.load_thresholds(None)
    lookback = thresholds.lookback_days
    measured_start = (START + timedelta(days=30 * args.burn_in_months + lookback)).date()
    measured_end = measured_start + timedelta(days=round(30.44 * args.months) - 1)
    charted_start = measured_start - timedelta(days=lookback - 1)
    months = (measured_end - START.date()).days // 28 + 1
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="repayguard-false-alarms-") as scratch:
        folder = Path(scratch)
        began = time.perf_counter()
        spec = PortfolioSpec(borrowers=args.borrowers, months=months, seed=args.seed, start=START)
        generated = generate_portfolio(spec, folder / "events", workers=2)
        seconds["generate"] = time.perf_counter() - began
        with embedded(folder / "data") as container:
            began = time.perf_counter()
            ingest_files(
                expand_paths([folder / "events"]), uow=container.uow, setup=container.ingest
            )
            seconds["ingest"] = time.perf_counter() - began

            began = time.perf_counter()
            day, runs = charted_start, 0
            while day <= measured_end:
                decide_borrowers(
                    DecideBorrowers(as_of=_at_end(day), trigger=triggers.CLI),
                    uow=container.uow(),
                    engine=container.decision_engine,
                    history_days=container.settings.decisions.history_days,
                )
                day, runs = day + timedelta(days=args.decide_every), runs + 1
            seconds["decide"] = time.perf_counter() - began

            began = time.perf_counter()
            series = monitoring.daily_series(
                container.uow(),
                start=charted_start,
                end=measured_end,
                metrics=[m.metric for m in thresholds.metrics],
            )
            seconds["series"] = time.perf_counter() - began

    began = time.perf_counter()
    covered: dict[tuple[str, str, str], date] = {}
    alarms: dict[tuple[str, str], int] = {}
    charted: set[tuple[str, str]] = set()
    day = measured_start
    while day <= measured_end:
        for alarm in scan(series.filter(pl.col("day") <= day), thresholds, end=day):
            key = (alarm.metric, alarm.segment, alarm.direction)
            if alarm.since > covered.get(key, date.min):
                alarms[(alarm.metric, alarm.segment)] = (
                    alarms.get((alarm.metric, alarm.segment), 0) + 1
                )
            covered[key] = alarm.last_day
        day += timedelta(days=1)
    seconds["scan"] = time.perf_counter() - began
    years = ((measured_end - measured_start).days + 1) / 365.25

    # A series is charted when, on the last measured day, it has more kept days than warm-up.
    for (metric, segment), rows in series.group_by("metric", "segment"):
        watch = thresholds.get(str(metric))
        if watch is None or not watch.watches(str(segment)):
            continue
        kept = rows.filter(
            pl.col("day").is_between(measured_end - timedelta(days=lookback - 1), measured_end)
            & (pl.col("denominator").is_null() | (pl.col("denominator") >= watch.min_denominator))
            & pl.col("value").is_not_null()
        )
        if kept.height > watch.warmup_days:
            charted.add((str(metric), str(segment)))
    charted |= set(alarms)  # a series that alarmed was charted on that day
    per_metric: dict[str, dict[str, float]] = {}
    for metric, segment in sorted(charted):
        entry = per_metric.setdefault(metric, {"series": 0, "alarms": 0})
        entry["series"] += 1
        entry["alarms"] += alarms.get((metric, segment), 0)
    for entry in per_metric.values():
        entry["alarms_per_series_year"] = round(entry["alarms"] / entry["series"] / years, 2)
    total = sum(alarms.values())
    print(
        json.dumps(
            {
                "borrowers": args.borrowers,
                "events": generated.total_events,
                "thresholds_version": thresholds.version,
                "measured": [str(measured_start), str(measured_end)],
                "years": round(years, 3),
                "decision_runs": runs,
                "decide_every_days": args.decide_every,
                "charted_series": len(charted),
                "alarms": total,
                "alarms_per_series_year": round(total / max(len(charted), 1) / years, 2),
                "by_metric": per_metric,
                "by_series": {f"{m} {s}": n for (m, s), n in sorted(alarms.items())},
                "seconds": {k: round(v, 1) for k, v in seconds.items()},
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
