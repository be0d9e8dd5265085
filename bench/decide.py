"""Benchmark: re-deciding a whole portfolio from SQLite (``decide --all``), seconds.

Reference, measured in the same run: the pure decision core alone over the same events
already in memory (the same chunks of borrowers, read before the clock starts) — what the
batch driver costs beyond reading history and writing decisions and entitlements. Also
prints where the run's time went (per stage, summed over chunks), the core's own split
(features, score, the rest) and peak RSS. Prints one JSON object.

With ``--history-cache`` (the default) the first run builds the columnar history cache and
the repeats read it warm (no events appended between runs: the nightly case of a quiet day).

The store is prepared once per ``--data`` folder (generate + ingest, in a child process so
its memory does not count) and reused by later runs. ``--store bulk`` (the default from
300,000 borrowers) writes the rows ingest would write through the store's fastest bulk path
instead (``_store.py``; the JSON says which), so the 1M-borrower point (35M events) can be
built in minutes.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from repayguard import entitlements, ingestion
from repayguard.core.features import compute_features
from repayguard.core.pipeline import decide
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.decisions.book import Stopwatch, read_book

from _common import AS_OF, embedded, median, portfolio, timed
from _store import bulk_store

TARGET_RATIO = 1.5
TARGET_SECONDS_1M = 30.0
TARGET_PEAK_GB = 4.0
BULK_FROM = 300_000
"""Borrowers from which the store is built by ``bulk_store`` unless ``--store`` says."""
STORES = {
    "ingest": "ingested through ingest_files (10,000 events a batch)",
    "bulk": "the rows ingest would write, through the bulk path of bench/_store.py",
}


class PeakRss:
    """The process's resident set size sampled every 20 ms (``ru_maxrss`` would count the
    benchmark's own reference frame too), and its children's high-water mark."""

    def __init__(self) -> None:
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            self._stop.wait(0.02)


def prepare(borrowers: int, root: Path, store: str) -> int:
    """Generate the portfolio and store it in ``root`` (ingested, or by ``bulk_store``);
    returns the number of events."""
    events = portfolio(borrowers, root / "events")
    if store == "bulk":
        bulk_store(root)
    else:
        with embedded(root / "db") as container:
            ingestion.ingest_files(
                ingestion.expand_paths([root / "events"]),
                uow=container.uow,
                setup=container.ingest,
            )
    (root / "store.kind").write_text(store)
    (root / "events.count").write_text(str(events))
    return events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--chunk", type=int, default=50_000, help="borrowers per chunk")
    parser.add_argument("--data", type=Path, help="keep (and reuse) the prepared store here")
    parser.add_argument(
        "--history-cache",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="read history through the columnar cache (built by the first run, warm after)",
    )
    parser.add_argument(
        "--store",
        choices=sorted(STORES),
        help=f"how a new store is built (default: bulk from {BULK_FROM:,} borrowers)",
    )
    parser.add_argument("--prepare-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    store = args.store or ("bulk" if args.borrowers >= BULK_FROM else "ingest")
    if args.prepare_only:
        prepare(args.borrowers, args.data, store)
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp)
        if not (root / "events.count").exists():
            command = [sys.executable, __file__, "--prepare-only", "--data", str(root)]
            subprocess.run(
                [*command, "--borrowers", str(args.borrowers), "--store", store], check=True
            )
        print(json.dumps(measure(args, root), indent=2))


def measure(args: argparse.Namespace, root: Path) -> dict[str, object]:
    cache = root / "history-cache"
    shutil.rmtree(cache, ignore_errors=True)  # the first run builds it, the others extend it
    with embedded(root / "db") as container:
        engine = container.decision_engine
        history = container.settings.decisions.history_days
        repeated: list[int] = []

        def run() -> tuple[float, dict[str, float]]:
            seconds, report = timed(
                lambda: decide_borrowers(
                    DecideBorrowers(as_of=AS_OF, trigger=triggers.CLI),
                    uow=container.uow(),
                    engine=engine,
                    history_days=history,
                    chunk_borrowers=args.chunk,
                    history_cache=cache if args.history_cache else None,
                )
            )
            assert report.borrowers == args.borrowers, report.borrowers
            repeated.append(report.repeated)
            return seconds, report.seconds

        with PeakRss() as rss:
            first = run()  # a fresh store: every borrower's first entitlement is written
            runs = [run() for _ in range(args.repeat)]
        children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        with container.session_factory() as session:
            previous = entitlements.current_frame(session, None)
            borrowers = ingestion.borrower_ids(session)
        chunks = list(
            read_book(
                container.engine,
                borrowers,
                since=AS_OF - timedelta(days=history),
                until=AS_OF,
                chunk_borrowers=args.chunk,
                watch=Stopwatch(),
            )
        )
        core, split = [], []
        for _ in range(args.repeat):
            started = time.perf_counter()
            for chunk in chunks:
                decide(
                    chunk.events,
                    as_of=AS_OF,
                    model=engine.model,
                    bands=engine.bands,
                    policy=engine.compiled,
                    previous=previous.filter(previous["borrower_id"].is_in(chunk.borrowers)),
                    borrowers=chunk.borrowers,
                )
            core.append(time.perf_counter() - started)
            features_s = score_s = 0.0
            for chunk in chunks:
                seconds, features = timed(
                    lambda: compute_features(chunk.events, AS_OF, chunk.borrowers)  # noqa: B023
                )
                features_s += seconds
                score_s += timed(lambda: engine.model.predict_pd(features))[0]  # noqa: B023
            split.append((features_s, score_s))
    ours = median([seconds for seconds, _ in runs])
    reference = median(core)
    # The run nearest the median (with an even --repeat the median is no run's own time).
    stages = min(runs, key=lambda run: abs(run[0] - ours))[1] if runs else {}
    features_s = median([f for f, _ in split])
    score_s = median([s for _, s in split])
    return {
        "benchmark": "decide_all",
        "borrowers": args.borrowers,
        "events": int((root / "events.count").read_text()),
        "events_in_history_window": sum(chunk.events.height for chunk in chunks),
        "store": STORES[_store_kind(root)],
        "chunk_borrowers": args.chunk,
        "history_cache": args.history_cache,
        "repeat": args.repeat,
        "first_run_seconds": round(first[0], 3),
        "first_run_stages": first[1],
        "median_seconds": round(ours, 3),
        "stages": stages,
        # Decisions each re-decision logged as repeats of the borrower's latest.
        "repeated_decisions": repeated[1:],
        "borrowers_per_second": round(args.borrowers / ours),
        "reference": "pure decision core over the same events in memory (same chunks)",
        "reference_median_seconds": round(reference, 3),
        "reference_split": {
            "features": round(features_s, 3),
            "score": round(score_s, 3),
            "tier_policy_guardrails_reasons_lineage": round(
                max(reference - features_s - score_s, 0.0), 3
            ),
        },
        "ratio_to_reference": round(ours / reference, 2),
        "target_ratio": TARGET_RATIO,
        "meets_ratio": ours / reference <= TARGET_RATIO,
        "seconds_per_1m": round(ours * 1_000_000 / args.borrowers, 1),
        "target_seconds_1m": TARGET_SECONDS_1M,
        "peak_rss_mb": round(rss.peak_kb / 1024),
        "children_peak_rss_mb": round(children_kb / 1024),
        "target_peak_gb": TARGET_PEAK_GB,
    }


def _store_kind(root: Path) -> str:
    # A folder prepared before stores were told apart was ingested.
    kind = root / "store.kind"
    return kind.read_text().strip() if kind.exists() else "ingest"


if __name__ == "__main__":
    main()
