"""Benchmark: recomputing the portfolio metrics' 30-day series (what a stale snapshot costs),
seconds, on a synthetic book in SQLite, decided once.

Reference, measured in the same run: reading the same events and decisions alone (the store's
part of the recompute), so the figure shows what the metric math adds. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import timedelta
from pathlib import Path

from repayguard import ingestion, monitoring
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.monitoring.series import read_inputs

from _common import AS_OF, embedded, median, portfolio, timed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=12)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = portfolio(args.borrowers, root / "events", months=args.months)
        with embedded(root / "db") as container:
            ingestion.ingest_files(
                ingestion.expand_paths([root / "events"]), uow=container.uow, setup=container.ingest
            )
            decide_borrowers(
                DecideBorrowers(as_of=AS_OF, trigger=triggers.CLI),
                uow=container.uow(),
                engine=container.decision_engine,
                history_days=container.settings.decisions.history_days,
            )
            end = (AS_OF - timedelta(days=1)).date()
            start = end - timedelta(days=29)
            recompute, reads = [], []
            for _ in range(args.repeat):
                seconds, series = timed(
                    lambda: monitoring.daily_series(container.uow(), start=start, end=end)
                )
                recompute.append(seconds)
                with container.session_factory() as session:
                    seconds, _ = timed(
                        lambda s=session: read_inputs(s, start=start, end=end, score_reference=None)
                    )
                reads.append(seconds)
    print(
        json.dumps(
            {
                "benchmark": "monitoring_30_day_series",
                "borrowers": args.borrowers,
                "events": events,
                "rows": series.height,
                "seconds_median": round(median(recompute), 3),
                "reference_read_only_seconds_median": round(median(reads), 3),
            }
        )
    )


if __name__ == "__main__":
    main()
