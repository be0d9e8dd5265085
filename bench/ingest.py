"""Benchmark: file ingest into SQLite (validate, de-duplicate, append, announce), events/s.

Reference, measured in the same run on the same files: reading the Parquet rows and a bare
``sqlite3.executemany`` into an events table with the same indexes and durability settings,
one commit per 10,000 rows — the storage step alone, without validation, de-duplication,
quarantine, receipts or the outbox. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
from pathlib import Path

import pyarrow.parquet as pq

from repayguard.core.events import EVENT_SCHEMA
from repayguard.ingestion import expand_paths, ingest_files

from _common import embedded, median, portfolio, timed

TARGET_EVENTS_PER_S = 20_000


def _reference(files: list[Path], db: Path) -> float:
    columns = EVENT_SCHEMA.names()
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute(
        f"CREATE TABLE events (seq INTEGER PRIMARY KEY, {', '.join(columns)}, UNIQUE (event_id))"
    )
    connection.execute("CREATE INDEX ix_bt ON events (borrower_id, occurred_at)")
    marks = ", ".join("?" for _ in columns)
    at = columns.index("occurred_at")

    def load() -> None:
        for path in files:
            for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
                rows = [
                    tuple(
                        v.strftime("%Y-%m-%d %H:%M:%S.%f") if i == at else v
                        for i, v in enumerate(r.values())
                    )
                    for r in batch.to_pylist()
                ]
                connection.executemany(
                    f"INSERT INTO events ({', '.join(columns)}) VALUES ({marks})", rows
                )
                connection.commit()

    seconds, _ = timed(load)
    connection.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = portfolio(args.borrowers, root / "events")
        files = expand_paths([root / "events"])
        ours, reference = [], []
        for run in range(args.repeat):
            with embedded(root / f"run{run}") as container:
                seconds, report = timed(lambda c=container: ingest_files(files, uow=c.uow))
                assert report.accepted == events, "every generated event must land"
                ours.append(seconds)
            reference.append(_reference(files, root / f"ref{run}.db"))
    ours_rate = events / median(ours)
    reference_rate = events / median(reference)
    print(
        json.dumps(
            {
                "benchmark": "ingest",
                "events": events,
                "repeat": args.repeat,
                "median_seconds": round(median(ours), 3),
                "events_per_second": round(ours_rate),
                "reference": "read Parquet + bare sqlite3.executemany, same indexes",
                "reference_events_per_second": round(reference_rate),
                "ratio_to_reference": round(ours_rate / reference_rate, 3),
                "target_events_per_second": TARGET_EVENTS_PER_S,
                "meets_target": ours_rate >= TARGET_EVENTS_PER_S,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
