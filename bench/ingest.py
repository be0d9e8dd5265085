"""Benchmark: event ingest against the store's own ceiling, on SQLite and PostgreSQL, events/s.

Ours: ``ingest_files`` over the portfolio's Parquet files (validate over columns, dedupe
against the store, append, receipts, quarantine, outbox), one transaction per 10,000 events.
Ceiling, measured in the same run into the SAME table (a database migrated like ours, so the
same columns, primary key and indexes): rows pre-built before the clock starts, then only the
store's fastest append — SQLite ``executemany`` of tuples with WAL, ``synchronous=FULL`` and
our page cache; PostgreSQL ``COPY`` of pre-encoded CSV — one commit per 10,000 rows. REST:
``POST /v1/events`` in batches of 10,000 through the ASGI app in-process, JSON bodies pre-built,
into SQLite: its ceiling is SQLite's. Prints one JSON object with ours, the ceiling and their
ratio per store (``bench/event_layouts.py`` measures the ceilings of other table layouts).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import orjson
import polars as pl
import psycopg
import pyarrow.parquet as pq
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.config import Settings
from repayguard.core.events import EVENT_SCHEMA
from repayguard.ingestion import expand_paths, ingest_files
from repayguard.ingestion.columns import validate_batch
from repayguard.ingestion.validation import EventWindow, validate_records
from repayguard.platform.clock import FixedClock

from _common import AS_OF, median, portfolio, timed

BATCH = 10_000
COLUMNS = [*EVENT_SCHEMA.names(), "batch_id"]
TARGETS = {"sqlite": 150_000, "postgresql": 200_000, "rest": 50_000}
POSTGRES = os.environ.get(
    "REPAYGUARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _container(data_dir: Path, url: str | None = None) -> Container:
    database = {"url": url} if url else {}
    settings = Settings(
        data_dir=data_dir,
        database=database,
        bus={"relay": "inline"},
        decisions={"online": False},
        security={"auth": "off"},
    )
    return bootstrap(settings, clock=FixedClock(AS_OF), migrate=True)


@contextmanager
def _fresh_postgres(admin_url: str) -> Iterator[str]:
    name = f"rg_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _frames(files: list[Path]) -> Iterator[pl.DataFrame]:
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
            frame = pl.from_arrow(batch)
            assert isinstance(frame, pl.DataFrame)
            yield frame.select(EVENT_SCHEMA.names()).with_columns(batch_id=pl.lit("b" * 32))


def _ours(files: list[Path], events: int, data_dir: Path, url: str | None) -> float:
    with _container(data_dir, url) as container:
        seconds, report = timed(
            lambda: ingest_files(files, uow=container.uow, setup=container.ingest)
        )
    assert report.accepted == events, "every generated event must land"
    return seconds


def _sqlite_ceiling(files: list[Path], data_dir: Path) -> float:
    with _container(data_dir):
        pass  # a migrated store: the events table exactly as ours
    batches = [
        frame.with_columns(pl.col("occurred_at").dt.strftime("%Y-%m-%d %H:%M:%S%.6f")).rows()
        for frame in _frames(files)
    ]
    connection = sqlite3.connect(data_dir / "repayguard.db")
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-65536"):
        connection.execute(f"PRAGMA {pragma}")
    statement = (
        f"INSERT INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    )

    def load() -> None:
        for rows in batches:
            connection.executemany(statement, rows)
            connection.commit()

    seconds, _ = timed(load)
    connection.close()
    return seconds


def _postgres_ceiling(files: list[Path], url: str) -> float:
    with _container(Path(tempfile.mkdtemp()), url):
        pass
    bodies = [
        frame.write_csv(include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z").encode()
        for frame in _frames(files)
    ]
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as connection:

        def load() -> None:
            for body in bodies:
                with (
                    connection.cursor() as cursor,
                    cursor.copy(
                        f"COPY events ({', '.join(COLUMNS)}) FROM STDIN (FORMAT csv)"
                    ) as copy,
                ):
                    copy.write(body)
                connection.commit()

        seconds, _ = timed(load)
    return seconds


def _rest(files: list[Path], data_dir: Path, batches: int) -> tuple[int, float]:
    bodies = []
    for frame in _frames(files):
        records = [
            {k: v for k, v in row.items() if v is not None}
            for row in frame.drop("batch_id").to_dicts()
        ]
        bodies.append(orjson.dumps({"events": records}, option=orjson.OPT_UTC_Z))
        if len(bodies) == batches:
            break
    with _container(data_dir) as container, TestClient(create_app(container)) as client:

        def post() -> int:
            sent = 0
            for body in bodies:
                answer = client.post(
                    "/v1/events", content=body, headers={"content-type": "application/json"}
                )
                assert answer.status_code == 200, answer.text
                sent += answer.json()["accepted"]
            return sent

        seconds, sent = timed(post)
    return sent, seconds


# The service's defaults (5 minutes ahead, ten years back) at the container's clock.
_WINDOW: Final = {
    "now": AS_OF,
    "window": EventWindow(timedelta(minutes=5), timedelta(days=3650)),
}


def _validation(files: list[Path]) -> dict[str, float]:
    """Validation alone, µs an event: over file frames, over JSON records, record by record."""
    frames = [frame.drop("batch_id") for frame in _frames(files)]
    records = [
        [
            {k: v for k, v in row.items() if v is not None}
            for row in orjson.loads(orjson.dumps(frame.to_dicts(), option=orjson.OPT_UTC_Z))
        ]
        for frame in frames
    ]
    count = sum(frame.height for frame in frames)
    timings = {
        "frame_columns": timed(lambda: [validate_batch(f, **_WINDOW) for f in frames])[0],
        "json_records_columns": timed(lambda: [validate_batch(r, **_WINDOW) for r in records])[0],
        "pydantic_per_record": timed(lambda: [validate_records(r, **_WINDOW) for r in records])[0],
    }
    return {name: round(seconds / count * 1e6, 2) for name, seconds in timings.items()}


def _arm(
    ours: list[float], ceiling: list[float], events: int, target: int, *, done: int | None = None
) -> dict[str, Any]:
    """Ours against the ceiling of the same store; ``done``: the events ours moved, when it
    moved fewer than the ceiling (REST sends only some batches)."""
    rate = (events if done is None else done) / median(ours)
    reference = events / median(ceiling)
    return {
        "events_per_second": round(rate),
        "ceiling_events_per_second": round(reference),
        "ratio_to_ceiling": round(rate / reference, 3),
        "target_events_per_second": target,
        "meets_target": rate >= target and rate >= 0.8 * reference,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rest-batches", type=int, default=5, help="10k-event REST batches")
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL of a PostgreSQL server")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = portfolio(args.borrowers, root / "events")
        files = expand_paths([root / "events"])
        sqlite_ours, sqlite_ceiling, pg_ours, pg_ceiling = [], [], [], []
        for run in range(args.repeat):
            sqlite_ours.append(_ours(files, events, root / f"ours{run}", None))
            sqlite_ceiling.append(_sqlite_ceiling(files, root / f"ceiling{run}"))
            if not args.skip_postgres:
                with _fresh_postgres(args.postgres) as url:
                    pg_ours.append(_ours(files, events, root / f"pg{run}", url))
                with _fresh_postgres(args.postgres) as url:
                    pg_ceiling.append(_postgres_ceiling(files, url))
        sent, rest_seconds = _rest(files, root / "rest", args.rest_batches)
        validation = _validation(files)
    result: dict[str, Any] = {
        "benchmark": "ingest",
        "events": events,
        "repeat": args.repeat,
        # Other work on the machine moves absolute rates; the same-run ratios are the figure.
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "sqlite": _arm(sqlite_ours, sqlite_ceiling, events, TARGETS["sqlite"]),
        "rest": {
            "events": sent,
            "batch": BATCH,
            **_arm([rest_seconds], sqlite_ceiling, events, TARGETS["rest"], done=sent),
        },
    }
    # The summary page's row (bench/render.py): the SQLite arm.
    result["events_per_second"] = result["sqlite"]["events_per_second"]
    result["reference_events_per_second"] = result["sqlite"]["ceiling_events_per_second"]
    result["validation_us_per_event"] = validation
    if pg_ours:
        result["postgresql"] = _arm(pg_ours, pg_ceiling, events, TARGETS["postgresql"])
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
