"""Every query of the ingestion tables; nothing here commits."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import polars as pl
from sqlalchemy import Connection, Engine, func, insert, select, text
from sqlalchemy.orm import Session

from repayguard.core.events import EVENT_SCHEMA
from repayguard.ingestion.models import EventRow, IngestBatchRow, QuarantineRow
from repayguard.platform.bulk import encode, insert_rows, sqlite_rows
from repayguard.platform.columnar import read_frame
from repayguard.platform.copy_in import KeyedCsv, copy_new_rows, keyed_csv
from repayguard.platform.db import table_of

_IN_CHUNK = 500  # well under SQLite's bound-parameter limit
_STORED: Final = [*EVENT_SCHEMA.names(), "batch_id"]


@dataclass(frozen=True, slots=True)
class PreparedEvents:
    """A batch's events (EVENT_SCHEMA columns, unique ``event_id``, batch order) made ready
    for one store before its transaction opens: stamped with the batch id and encoded — the
    tuples SQLite's ``executemany`` takes, or PostgreSQL's ``COPY`` text in event-id order.
    ``borrowers``: the distinct borrowers they name, sorted."""

    events: pl.DataFrame
    batch_id: str
    borrowers: list[str]
    tuples: list[tuple[Any, ...]] | None = None
    csv: KeyedCsv | None = None


def store_of(session: Session) -> str:
    """The store a session writes to (``sqlite`` or ``postgresql``), known without a
    connection."""
    return session.get_bind().dialect.name


def prepare_events(events: pl.DataFrame, *, batch_id: str, store: str) -> PreparedEvents:
    """The events encoded for ``store`` (see :class:`PreparedEvents`): pure work on the
    frame, so a file import does it on its reading thread while the store appends the batch
    before."""
    stamped = events.select(EVENT_SCHEMA.names()).with_columns(batch_id=pl.lit(batch_id))
    borrowers = events["borrower_id"].drop_nulls().unique().sort().to_list()
    if store == "sqlite":
        return PreparedEvents(events, batch_id, borrowers, tuples=sqlite_rows(stamped))
    csv = keyed_csv(encode(stamped, sqlite=False), key="event_id")
    return PreparedEvents(events, batch_id, borrowers, csv=csv)


def append_new_events(session: Session, prepared: PreparedEvents) -> pl.DataFrame:
    """Append the prepared events not yet stored and return exactly those, in batch order:
    the rows this transaction wrote, also while others append the same ids.

    Both stores let the unique index on ``event_id`` decide — no lookup of stored ids first,
    so the count cannot be taken before another writer's insert. SQLite inserts or ignores
    and counts the rows it changed; PostgreSQL copies the batch straight in, or — when a key
    collides — keeps what ``INSERT … ON CONFLICT DO NOTHING RETURNING`` returns
    (``platform.copy_in``).
    """
    events = prepared.events
    if events.is_empty():
        return events
    connection = session.connection()
    if prepared.tuples is not None:
        driver = connection.connection.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        before = driver.total_changes
        insert_rows(
            session, EventRow.__tablename__, _STORED, prepared.tuples, ignore_conflicts=True
        )
        written = driver.total_changes - before
        if written == events.height:  # the usual case: every event new, nothing to look up
            return events
        return events.filter(pl.col("event_id").is_in(_last_appended(connection, written)))
    assert prepared.csv is not None
    written_ids = copy_new_rows(session, EventRow.__tablename__, prepared.csv)
    if len(written_ids) == events.height:
        return events
    return events.filter(pl.col("event_id").is_in(written_ids))


def _last_appended(connection: Connection, count: int) -> list[str]:
    """The ids of the ``count`` events appended last on SQLite, by this transaction.

    SQLite has one writer at a time and this transaction has held the write lock since its
    insert began, and a new row's ``seq`` (its rowid, without AUTOINCREMENT) is the highest
    one plus one: so the rows it added are exactly the ``count`` highest sequence numbers —
    read backwards along the primary key, without touching the other rows.
    """
    if count == 0:
        return []
    rows = connection.exec_driver_sql(
        "SELECT event_id FROM events ORDER BY seq DESC LIMIT ?", (count,)
    )
    return [row[0] for row in rows]


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


def latest_seq(session: Session) -> int:
    """The highest append sequence number stored (0: no event yet): what a decision run
    records as the events it could see, so a replay gives it the same ones."""
    return int(session.scalar(select(func.max(EventRow.seq))) or 0)


def seq_received_by(session: Session, moment: datetime) -> int:
    """The highest sequence number among events whose batch was received by ``moment`` (0:
    none): the cut-off of a run recorded before runs kept their own."""
    received = select(IngestBatchRow.batch_id).where(IngestBatchRow.received_at <= moment)
    found = session.scalar(select(func.max(EventRow.seq)).where(EventRow.batch_id.in_(received)))
    return int(found or 0)


def load_history(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    borrowers: Iterable[str],
    through_seq: int | None = None,
) -> pl.DataFrame:
    """Events of the given borrowers in [since, until], as an EVENT_SCHEMA frame; only those
    appended up to sequence number ``through_seq`` when given (a replayed run's view).

    Used by the online path, where a micro-batch names at most a few thousand borrowers.
    """
    columns = [getattr(EventRow, name) for name in _COLUMNS]
    ids = list(borrowers)
    records: list[tuple[Any, ...]] = []
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = ids[start : start + _IN_CHUNK]
        seen = [] if through_seq is None else [EventRow.seq <= through_seq]
        result = session.execute(
            select(*columns).where(
                EventRow.borrower_id.in_(chunk),
                EventRow.occurred_at >= since,
                EventRow.occurred_at <= until,
                *seen,
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
    query = (
        f"SELECT {', '.join(_COLUMNS)} FROM events "
        "WHERE seq >= ? AND seq < ? AND borrower_id IS NOT NULL "
        "AND occurred_at >= ? AND occurred_at <= ?"
    )
    return read_frame(engine, query, _seq_ranges(low, high, since, until), EVENT_SCHEMA)


def events_between(session: Session, *, since: datetime, until: datetime) -> pl.DataFrame:
    """Every stored event (borrower events and market signals) in [since, until], as an
    EVENT_SCHEMA frame, read through the caller's session (portfolio monitoring)."""
    columns = [getattr(EventRow, name) for name in _COLUMNS]
    result = session.execute(
        select(*columns).where(EventRow.occurred_at >= since, EventRow.occurred_at <= until)
    )
    return pl.DataFrame([tuple(row) for row in result], schema=EVENT_SCHEMA, orient="row")


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


SEQUENCED_SCHEMA: Final = pl.Schema({**EVENT_SCHEMA, "seq": pl.Int64()})
"""EVENT_SCHEMA plus each event's place in the store's append sequence."""


def sequence_state(engine: Engine) -> tuple[int, int, str | None]:
    """The store's highest append sequence number (0 when empty), its number of events (read
    in one statement: one snapshot) and the id of the event at that number."""
    with engine.connect() as connection:
        high, count = connection.execute(select(func.max(EventRow.seq), func.count())).one()
        last = connection.execute(select(EventRow.event_id).where(EventRow.seq == high)).scalar()
    return int(high or 0), int(count), last


def count_through(engine: Engine, seq: int) -> tuple[int, str | None]:
    """How many stored events have an append sequence number up to ``seq``, and the id of
    the event at ``seq`` (None: none there). The count changes when an event below ``seq``
    appears late (a concurrent writer committing after a later one) or disappears; the id
    tells a store recreated under the same address from the one it replaced."""
    with engine.connect() as connection:
        count = connection.execute(select(func.count()).where(EventRow.seq <= seq)).scalar_one()
        last = connection.execute(select(EventRow.event_id).where(EventRow.seq == seq)).scalar()
    return int(count), last


def scan_sequenced(engine: Engine, *, after: int, through: int, since: datetime) -> pl.DataFrame:
    """Every borrower event with ``after`` < seq <= ``through`` that occurred at or after
    ``since``, with its ``seq`` (SEQUENCED_SCHEMA), read columnar over disjoint ranges."""
    if through <= after:
        return pl.DataFrame(schema=SEQUENCED_SCHEMA)
    query = (
        f"SELECT {', '.join(_COLUMNS)}, seq FROM events "
        "WHERE seq >= ? AND seq < ? AND seq <= ? AND borrower_id IS NOT NULL "
        "AND occurred_at >= ?"
    )
    ranges = [[*bounds[:2], through, since] for bounds in _seq_ranges(after + 1, through)]
    return read_frame(engine, query, ranges, SEQUENCED_SCHEMA)


def _seq_ranges(low: int, high: int, *tail: Any) -> list[list[Any]]:
    """[low, high] cut into one half-open range per core (at most four), each followed by
    ``tail`` as further query parameters."""
    parts = max(1, min(os.cpu_count() or 1, 4))
    step = (high - low) // parts + 1
    return [[low + i * step, low + (i + 1) * step, *tail] for i in range(parts)]
