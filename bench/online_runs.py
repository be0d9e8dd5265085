"""Benchmark: the fixed cost of an online run, and what coalescing waiting batches saves.

In-process, on a fresh SQLite store with the inline relay (no HTTP, no second process), so
the figure is the decider's own work. After a warm-up (the first decision compiles the
policy's expressions), ``--batches`` micro-batches shaped as ``online.py`` sends them
(``--probes`` borrowers with three failed auto-debits, filled up with logins of a pool of
other borrowers, ``--size`` events each) are ingested two ways, on two halves of the pool:

  * ``one_by_one``: each batch's commit relays its ``events.ingested`` at once, so each batch
    is decided in its own run (the relay never finds two waiting: a quiet server);
  * ``coalesced``: the batches commit while the relay is busy (their messages wait in the
    outbox), then one drain hands them to the online decider together: one run for the union
    of their borrowers, up to ``decisions.online_coalesce`` messages a run.

Prints one JSON object: seconds for all the batches each way, per batch, and the ratio; with
``--profile`` the functions that took the most cumulative time of one one-by-one batch go to
stderr (cProfile), which is where the per-run split in docs/scaling.md comes from. With
``--core 1,10,100,1000`` it times the pure core alone instead (``core.pipeline.decide``,
medians of 15 calls after 3 of warm-up) over that many borrowers, each with a month of
repayments and logins and one in ten with failed auto-debits: where a run stops being fixed
cost (the crossover a row-wise small-batch path would have to beat).

    .venv/bin/python bench/online_runs.py [--batches 10] [--size 100] [--probes 2] [--profile]
    .venv/bin/python bench/online_runs.py --core 1,10,100,1000
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl

from online import _batch
from repayguard.bootstrap import Container, bootstrap
from repayguard.config import Settings
from repayguard.core.events import EVENT_SCHEMA
from repayguard.core.pipeline import decide, empty_previous
from repayguard.decisions.engine import load_engine
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import SystemClock
from repayguard.platform.uow import UnitOfWork


def _ingest(container: Container, events: list[dict[str, Any]], *, relay: bool) -> None:
    unit = (
        container.uow() if relay else UnitOfWork(container.session_factory, clock=container.clock)
    )
    ingest_events(IngestEvents(events, source="bench"), uow=unit, setup=container.ingest)


def _history(borrowers: int, now: datetime) -> pl.DataFrame:
    """A month of one due and one payment a week and a login a day per borrower; one in ten
    also has three failed auto-debits (restricted by the shipped policy)."""
    rows: list[dict[str, Any]] = []
    for n in range(borrowers):
        who = f"B{n:07d}"
        for day in range(30):
            at = now - timedelta(days=day, hours=1)
            rows.append({"borrower_id": who, "type": "behaviour", "kind": "login", "at": at})
            if day % 7 == 0:
                for kind in ("due", "paid"):
                    rows.append({"borrower_id": who, "type": "repayment", "kind": kind,
                                 "at": at, "amount": 500.0, "loan_id": f"L{who}"})  # fmt: skip
        for attempt in range(3 if n % 10 == 0 else 0):
            rows.append({"borrower_id": who, "type": "repayment", "kind": "auto_debit_attempt",
                         "status": "failed", "at": now - timedelta(hours=attempt + 1),
                         "amount": 500.0, "loan_id": f"L{who}"})  # fmt: skip
    frame = pl.DataFrame(rows, infer_schema_length=None).with_row_index("seq")
    frame = frame.with_columns(
        pl.format("e{}", "seq").alias("event_id"), pl.col("at").alias("occurred_at")
    )
    return frame.select(
        pl.col(c).cast(t) if c in frame.columns else pl.lit(None, t).alias(c)
        for c, t in EVENT_SCHEMA.items()
    )


def core_costs(sizes: list[int]) -> dict[str, float]:
    """Median seconds of one ``decide`` over each number of borrowers."""
    engine = load_engine(policy_path=None, model_path=None, bands_path=None)
    now = datetime.now(UTC)
    medians: dict[str, float] = {}
    for size in sizes:
        events = _history(size, now)
        borrowers = [f"B{n:07d}" for n in range(size)]

        def once(events: pl.DataFrame = events, borrowers: list[str] = borrowers) -> float:
            start = time.perf_counter()
            decide(
                events,
                as_of=now,
                model=engine.model,
                bands=engine.bands,
                policy=engine.compiled,
                previous=empty_previous(),
                borrowers=borrowers,
            )
            return time.perf_counter() - start

        for _ in range(3):
            once()
        medians[str(size)] = round(statistics.median(once() for _ in range(15)), 4)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--pool", type=int, default=5_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--core", help="borrower counts to time the pure core alone over")
    args = parser.parse_args()
    if args.core:
        sizes = [int(size) for size in args.core.split(",")]
        report = {
            "benchmark": "online_runs core",
            "load_average_1m": round(os.getloadavg()[0], 2),
            "decide_median_s": core_costs(sizes),
        }
        print(json.dumps(report, indent=2))
        return
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            env="test",
            data_dir=Path(folder),
            database={"url": f"sqlite:///{folder}/bench.db"},
            bus={"relay": "inline"},
        )
        with bootstrap(settings, clock=SystemClock(), migrate=True) as container:
            now = datetime.now(UTC)
            _ingest(container, _batch(0, args.size, args.probes, args.pool, now)[0], relay=True)
            first = [
                _batch(n, args.size, args.probes, args.pool, now)[0]
                for n in range(1, args.batches + 1)
            ]
            second = [
                _batch(n, args.size, args.probes, args.pool, now)[0]
                for n in range(args.batches + 1, 2 * args.batches + 1)
            ]
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                _ingest(container, first[0], relay=True)
                profiler.disable()
                text = io.StringIO()
                pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(40)
                print(text.getvalue(), file=sys.stderr)
                first = first[1:]
            start = time.perf_counter()
            for events in first:
                _ingest(container, events, relay=True)
            one_by_one = time.perf_counter() - start
            start = time.perf_counter()
            for events in second:
                _ingest(container, events, relay=False)
            container.relay.drain()
            coalesced = time.perf_counter() - start
    print(
        json.dumps(
            {
                "benchmark": "online_runs",
                "database": "sqlite + in-process bus, inline relay",
                "load_average_1m": round(os.getloadavg()[0], 2),
                "batch_events": args.size,
                "batches": {"one_by_one": len(first), "coalesced": len(second)},
                "one_by_one_s": round(one_by_one, 3),
                "one_by_one_per_batch_s": round(one_by_one / len(first), 4),
                "coalesced_s": round(coalesced, 3),
                "coalesced_per_batch_s": round(coalesced / len(second), 4),
                "ratio": round(one_by_one / len(first) / (coalesced / len(second)), 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
