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
stderr (cProfile), which is where the per-run split in docs/scaling.md comes from.

    .venv/bin/python bench/online_runs.py [--batches 10] [--size 100] [--probes 2] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from online import _batch
from repayguard.bootstrap import Container, bootstrap
from repayguard.config import Settings
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import SystemClock
from repayguard.platform.uow import UnitOfWork


def _ingest(container: Container, events: list[dict[str, Any]], *, relay: bool) -> None:
    unit = (
        container.uow() if relay else UnitOfWork(container.session_factory, clock=container.clock)
    )
    ingest_events(IngestEvents(events, source="bench"), uow=unit, setup=container.ingest)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--size", type=int, default=100)
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--pool", type=int, default=5_000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
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
