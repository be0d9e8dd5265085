"""Benchmark: the store's own append ceiling for candidate layouts of the events table.

Which columns an event row has decides how fast the store can append it, whatever the code
around it does. Each candidate is measured side by side in the same run, over the same
portfolio's events, the way ``bench/ingest.py`` measures its ceiling: rows pre-built before the
clock starts, then only the store's fastest append — SQLite ``executemany`` of tuples (WAL,
``synchronous=FULL``, our page cache), PostgreSQL ``COPY`` of pre-encoded CSV — one commit per
10,000 rows. ``flat`` is today's migrated table; the others are created by their DDL. A packed
layout keeps as columns what the store filters, sorts or joins on and puts the type-specific
fields in one JSON text column; ``pack_us_per_event`` is what building that column costs
(Polars, per event), a cost ingest would pay and the ceiling does not.
Prints one JSON object: per store and layout, events/s (median) and the ratio to ``flat``;
``sqlite_cpu`` counts SQLite's CPU seconds instead of wall seconds (steadier on a busy machine).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl
import psycopg

from ingest import POSTGRES, _container, _frames, _fresh_postgres
from repayguard.ingestion import expand_paths

from _common import median, portfolio, timed

_KEYS: Final = ("event_id", "type", "borrower_id", "occurred_at", "batch_id")
_PACKED: Final = (
    "schema_version", "loan_id", "kind", "amount", "balance", "method", "channel", "status",
    "early", "score", "inquiries", "external_debt", "series", "value",
)  # fmt: skip
_TIME_INDEX: Final = "CREATE INDEX ix_events_borrower_time ON events (borrower_id, occurred_at)"


@dataclass(frozen=True, slots=True)
class Layout:
    """A candidate: its columns' DDL per store (None: today's migrated table) and the frame of
    rows it stores, built from an EVENT_SCHEMA frame plus ``batch_id``."""

    name: str
    ddl: dict[str, list[str]] | None
    rows: Callable[[pl.DataFrame], pl.DataFrame]


def _packed(frame: pl.DataFrame, *, keep: tuple[str, ...] = _KEYS) -> pl.DataFrame:
    return frame.select(*keep, payload=pl.struct(*_PACKED).struct.json_encode())


def _table(columns: str, *, index: bool = True) -> dict[str, list[str]]:
    """The DDL of a candidate per store; ``{time}`` in ``columns`` is the store's timestamp."""
    stores = (("sqlite", "INTEGER", "DATETIME"), ("postgresql", "SERIAL", "TIMESTAMPTZ"))
    return {
        store: [
            f"CREATE TABLE events (seq {seq} PRIMARY KEY, {columns.format(time=time)})",
            *([_TIME_INDEX] if index else []),
        ]
        for store, seq, time in stores
    }


_KEY_COLUMNS: Final = (
    "event_id VARCHAR(64) NOT NULL UNIQUE, type VARCHAR(20) NOT NULL, borrower_id VARCHAR(64), "
    "occurred_at {time} NOT NULL"
)
_FLAT_COLUMNS: Final = (
    _KEY_COLUMNS + ", schema_version SMALLINT NOT NULL, loan_id VARCHAR(64), "
    "kind VARCHAR(24) NOT NULL, amount FLOAT, balance FLOAT, method VARCHAR(16), "
    "channel VARCHAR(16), status VARCHAR(16), early BOOLEAN, score FLOAT, inquiries INTEGER, "
    "external_debt FLOAT, series VARCHAR(64), value FLOAT, batch_id VARCHAR(32) NOT NULL"
)
LAYOUTS: Final = (
    Layout("flat", None, lambda frame: frame),
    Layout("flat_without_time_index", _table(_FLAT_COLUMNS, index=False), lambda frame: frame),
    Layout(
        "packed",
        _table(_KEY_COLUMNS + ", batch_id VARCHAR(32) NOT NULL, payload TEXT"),
        _packed,
    ),
    Layout(
        "packed_batch_by_seq_range",
        _table(_KEY_COLUMNS + ", payload TEXT"),
        lambda frame: _packed(frame, keep=_KEYS[:-1]),
    ),
    Layout(
        "keys_only",
        _table("event_id VARCHAR(64) NOT NULL UNIQUE, borrower_id VARCHAR(64), occurred_at {time}"),
        lambda frame: frame.select("event_id", "borrower_id", "occurred_at"),
    ),
)


def _insert(columns: list[str]) -> str:
    return f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _sqlite(layout: Layout, frames: list[pl.DataFrame], data_dir: Path) -> tuple[float, float]:
    """Wall and CPU seconds of the append (SQLite runs in this process: its CPU time is the
    layout's own cost, apart from waiting for the disk and for other processes)."""
    if layout.ddl is None:
        with _container(data_dir):
            pass  # a migrated store: today's events table
    connection = sqlite3.connect(data_dir / "repayguard.db")
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "cache_size=-65536"):
        connection.execute(f"PRAGMA {pragma}")
    for statement in (layout.ddl or {}).get("sqlite", []):
        connection.execute(statement)
    connection.commit()
    built = [
        layout.rows(frame).with_columns(pl.col("occurred_at").dt.strftime("%Y-%m-%d %H:%M:%S%.6f"))
        for frame in frames
    ]
    statement = _insert(built[0].columns)
    batches = [frame.rows() for frame in built]

    def load() -> None:
        for rows in batches:
            connection.executemany(statement, rows)
            connection.commit()

    cpu = time.process_time()
    seconds, _ = timed(load)
    cpu = time.process_time() - cpu
    connection.close()
    return seconds, cpu


def _postgres(layout: Layout, frames: list[pl.DataFrame], url: str) -> float:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    if layout.ddl is None:
        with _container(Path(tempfile.mkdtemp()), url):
            pass
    built = [layout.rows(frame) for frame in frames]
    columns = ", ".join(built[0].columns)
    bodies = [
        frame.write_csv(include_header=False, datetime_format="%Y-%m-%dT%H:%M:%S%.6f%z").encode()
        for frame in built
    ]
    with psycopg.connect(plain) as connection:
        for statement in (layout.ddl or {}).get("postgresql", []):
            connection.execute(statement)  # type: ignore[call-overload]
        connection.commit()

        def load() -> None:
            for body in bodies:
                with (
                    connection.cursor() as cursor,
                    cursor.copy(f"COPY events ({columns}) FROM STDIN (FORMAT csv)") as copy,
                ):
                    copy.write(body)
                connection.commit()

        seconds, _ = timed(load)
    return seconds


def _pack_cost(frames: list[pl.DataFrame]) -> float:
    started = time.perf_counter()
    for frame in frames:
        _packed(frame)
    return (time.perf_counter() - started) / sum(frame.height for frame in frames) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--borrowers", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", default=POSTGRES, help="admin URL of a PostgreSQL server")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()
    stores = ["sqlite", "sqlite_cpu"] + ([] if args.skip_postgres else ["postgresql"])
    seconds: dict[str, dict[str, list[float]]] = {s: {x.name: [] for x in LAYOUTS} for s in stores}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        events = portfolio(args.borrowers, root / "events")
        frames = list(_frames(expand_paths([root / "events"])))
        for run in range(args.repeat):
            for layout in LAYOUTS:  # alternated, so the machine's load falls on all alike
                folder = root / f"{layout.name}-{run}"
                folder.mkdir()
                wall, cpu = _sqlite(layout, frames, folder)
                seconds["sqlite"][layout.name].append(wall)
                seconds["sqlite_cpu"][layout.name].append(cpu)
                if "postgresql" in stores:
                    with _fresh_postgres(args.postgres) as url:
                        seconds["postgresql"][layout.name].append(_postgres(layout, frames, url))
        pack = _pack_cost(frames)
    result: dict[str, Any] = {"benchmark": "event_layouts", "events": events}
    for store in stores:
        flat = events / median(seconds[store]["flat"])
        result[store] = {
            name: {
                "events_per_second": round(events / median(runs)),
                "ratio_to_flat": round(events / median(runs) / flat, 2),
            }
            for name, runs in seconds[store].items()
        }
    result["pack_us_per_event"] = round(pack, 2)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
