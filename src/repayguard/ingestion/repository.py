"""Every query of the ingestion tables; nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.orm import Session

from repayguard.core.events import EVENT_SCHEMA
from repayguard.ingestion.models import EventRow, IngestBatchRow, QuarantineRow

_IN_CHUNK = 500  # well under SQLite's bound-parameter limit


def existing_event_ids(session: Session, event_ids: Sequence[str]) -> set[str]:
    """The subset of ``event_ids`` already in the store."""
    found: set[str] = set()
    for start in range(0, len(event_ids), _IN_CHUNK):
        chunk = event_ids[start : start + _IN_CHUNK]
        found.update(session.scalars(select(EventRow.event_id).where(EventRow.event_id.in_(chunk))))
    return found


def add_events(session: Session, rows: Sequence[dict[str, Any]], *, batch_id: str) -> None:
    if rows:
        session.execute(insert(EventRow), [{**row, "batch_id": batch_id} for row in rows])


def add_quarantined(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(QuarantineRow), list(rows))


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
    """Every borrower event in [since, until], read columnar through ADBC (the batch path).

    Row-by-row fetching through the DB-API costs ~2 µs a value; ADBC hands over Arrow
    batches, about 3.5x faster on SQLite (see docs/ARCHITECTURE.md).
    """
    columns = ", ".join(_COLUMNS)
    where = "borrower_id IS NOT NULL AND occurred_at >= ? AND occurred_at <= ?"
    if engine.dialect.name == "sqlite":
        import adbc_driver_sqlite.dbapi as adbc_sqlite

        # SQLite has no column types and ADBC infers them from the first rows; a typed first
        # row (marked with _real = 0 and dropped below) pins them.
        pin = ", ".join(f"{_PIN[name]} AS {name}" for name in _COLUMNS)
        query = f"SELECT {pin}, 0 AS _real UNION ALL SELECT {columns}, 1 FROM events WHERE {where}"
        params = (_sqlite_time(since), _sqlite_time(until))
        with adbc_sqlite.connect(engine.url.database or "") as conn, conn.cursor() as cursor:
            cursor.execute(query, params)
            table = cursor.fetch_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
        frame = frame.filter(pl.col("_real") == 1).drop("_real")
        frame = frame.with_columns(
            pl.col("occurred_at")
            .str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us")
            .dt.replace_time_zone("UTC"),
            pl.col("early").cast(pl.Boolean),
        )
    else:
        import adbc_driver_postgresql.dbapi as adbc_pg

        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        query = (
            f"SELECT {columns} FROM events WHERE {where.replace('?', '$1', 1).replace('?', '$2')}"
        )
        with adbc_pg.connect(url) as conn, conn.cursor() as cursor:
            cursor.execute(query, (since, until))
            table = cursor.fetch_arrow_table()
        frame = pl.from_arrow(table)
        assert isinstance(frame, pl.DataFrame)
    return frame.cast(dict(EVENT_SCHEMA.items())).select(_COLUMNS)


_PIN = {
    name: (
        "''"
        if dtype == pl.String or isinstance(dtype, pl.Datetime)
        else "0.0"
        if dtype == pl.Float64
        else "0"
    )
    for name, dtype in EVENT_SCHEMA.items()
}


def _sqlite_time(value: datetime) -> str:
    # The format SQLAlchemy's SQLite DateTime type stores, so string comparison orders by time.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")
