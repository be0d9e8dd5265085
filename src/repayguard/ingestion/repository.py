"""Every query of the ingestion tables; nothing here commits."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.orm import Session

from repayguard.core.events import EVENT_SCHEMA
from repayguard.ingestion.models import EventRow, IngestBatchRow, QuarantineRow
from repayguard.platform.columnar import read_frame
from repayguard.platform.db import table_of

_IN_CHUNK = 500  # well under SQLite's bound-parameter limit


def existing_event_ids(session: Session, event_ids: Sequence[str]) -> set[str]:
    """The subset of ``event_ids`` already in the store."""
    found: set[str] = set()
    for start in range(0, len(event_ids), _IN_CHUNK):
        chunk = event_ids[start : start + _IN_CHUNK]
        found.update(session.scalars(select(EventRow.event_id).where(EventRow.event_id.in_(chunk))))
    return found


_INSERT_COLUMNS = (*EVENT_SCHEMA.names(), "batch_id")


def add_events(session: Session, rows: Sequence[dict[str, Any]], *, batch_id: str) -> None:
    """Append validated event rows (every EVENT_SCHEMA column present, times in UTC).

    The rows go to the driver's ``executemany`` as plain tuples: SQLAlchemy's per-row
    parameter processing cost more than the insert itself (profiled: ~10 µs a row). Times are
    written in the exact text form ``UtcDateTime`` stores on SQLite.
    """
    if not rows:
        return
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"
    # The service already dropped known event ids; a concurrent writer landing the same id in
    # between must not fail the batch, so the store ignores it rather than raising.
    statement = (
        f"INSERT {'OR IGNORE ' if sqlite else ''}INTO events ({', '.join(_INSERT_COLUMNS)}) "
        f"VALUES ({', '.join(mark for _ in _INSERT_COLUMNS)})"
        f"{'' if sqlite else ' ON CONFLICT (event_id) DO NOTHING'}"
    )
    times = "occurred_at" if sqlite else None
    names = EVENT_SCHEMA.names()
    values = [
        (*(_sqlite_time(row[n]) if n == times else row[n] for n in names), batch_id) for row in rows
    ]
    connection.exec_driver_sql(statement, values)


def _sqlite_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def add_quarantined(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(table_of(QuarantineRow)), list(rows))


def add_batch(session: Session, batch: IngestBatchRow) -> None:
    session.add(batch)


def quarantined(session: Session, batch_id: str) -> list[QuarantineRow]:
    return list(
        session.scalars(
            select(QuarantineRow)
            .where(QuarantineRow.batch_id == batch_id)
            .order_by(QuarantineRow.record_index)
        )
    )


def count_events(session: Session) -> int:
    return int(session.scalar(text("SELECT count(*) FROM events")) or 0)


def borrower_ids(session: Session) -> list[str]:
    """Every borrower that has at least one event, sorted."""
    return list(
        session.scalars(
            select(EventRow.borrower_id)
            .where(EventRow.borrower_id.is_not(None))
            .distinct()
            .order_by(EventRow.borrower_id)
        )
    )


def latest_event_at(session: Session, borrowers: Iterable[str]) -> datetime | None:
    """When the newest event of any of these borrowers occurred (None: they have none)."""
    ids = list(borrowers)
    found: list[datetime] = []
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        newest = session.scalar(
            select(func.max(EventRow.occurred_at)).where(EventRow.borrower_id.in_(chunk))
        )
        if newest is not None:
            found.append(newest)
    return max(found, default=None)


_COLUMNS = list(EVENT_SCHEMA.names())


def load_history(
    session: Session, *, since: datetime, until: datetime, borrowers: Iterable[str]
) -> pl.DataFrame:
    """Events of the given borrowers in [since, until], as an EVENT_SCHEMA frame.

    Used by the online path, where a micro-batch names at most a few thousand borrowers.
    """
    columns = [getattr(EventRow, name) for name in _COLUMNS]
    ids = list(borrowers)
    records: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        result = session.execute(
            select(*columns).where(
                EventRow.borrower_id.in_(chunk),
                EventRow.occurred_at >= since,
                EventRow.occurred_at <= until,
            )
        )
        records.extend(tuple(row) for row in result)
    return pl.DataFrame(records, schema=EVENT_SCHEMA, orient="row")


def scan_history(engine: Engine, *, since: datetime, until: datetime) -> pl.DataFrame:
    """Every borrower event in [since, until], read columnar (the batch path).

    The store is split into as many disjoint ranges of its append sequence as there are
    cores, read side by side.
    """
    with engine.connect() as connection:
        bounds = connection.execute(select(func.min(EventRow.seq), func.max(EventRow.seq))).one()
    low: int | None = bounds[0]
    high: int | None = bounds[1]
    if low is None or high is None:
        return pl.DataFrame(schema=EVENT_SCHEMA)
    parts = max(1, min(os.cpu_count() or 1, 4))
    step = (high - low) // parts + 1
    query = (
        f"SELECT {', '.join(_COLUMNS)} FROM events "
        "WHERE seq >= ? AND seq < ? AND borrower_id IS NOT NULL "
        "AND occurred_at >= ? AND occurred_at <= ?"
    )
    ranges = [[low + i * step, low + (i + 1) * step, since, until] for i in range(parts)]
    return read_frame(engine, query, ranges, EVENT_SCHEMA)


def scan_borrower_range(
    engine: Engine, *, low: str, high: str, since: datetime, until: datetime
) -> pl.DataFrame:
    """Events in [since, until] of the borrowers whose ids lie in [low, high], read columnar:
    one partition of the distributed batch driver reads its own borrowers' history.

    In append order, as :func:`scan_history` returns them: features sum floats in event order,
    and the same events summed in another order can differ in the last bit."""
    query = (
        f"SELECT {', '.join(_COLUMNS)} FROM events "
        "WHERE borrower_id >= ? AND borrower_id <= ? "
        "AND occurred_at >= ? AND occurred_at <= ? ORDER BY seq"
    )
    return read_frame(engine, query, [[low, high, since, until]], EVENT_SCHEMA)
