"""A benchmark's event store built through SQLite's fastest bulk path instead of ingest.

Ingesting a million borrowers' 35M events through ``ingest_files`` (10,000 events a
transaction, the stored-id lookup, a message and its outbox row per batch, the borrower index
maintained row by row) takes longer than a benchmark run may. This writes the rows ingest
would write into the same migrated tables: the event rows the ingest's own column-wise
validation (``validate_batch``, at the same clock and window) makes of each file batch,
stamped with a batch id, and one receipt (``ingest_batches``) per batch — 500,000 events a
transaction, the ``(borrower_id, occurred_at)`` index dropped for the load and built once
after it, and a page cache large enough for the ``event_id`` index. What it does not write:
the ``repayguard.events.ingested`` messages (their outbox rows and what the relay makes of
them), which no whole-book run reads.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import polars as pl

from repayguard import ingestion
from repayguard.bootstrap import Container
from repayguard.core.events import EVENT_SCHEMA
from repayguard.ingestion.files import read_batches
from repayguard.ingestion.models import EventRow, IngestBatchRow
from repayguard.platform.bulk import append_frame
from repayguard.platform.db import table_of

from _common import AS_OF, embedded

BATCH = 500_000
BORROWER_INDEX = "ix_events_borrower_time"
CACHE_KIB = 2 * 1024 * 1024
"""Page cache of the loading connection (2 GiB): the ``event_id`` index of 35M events."""


def bulk_store(root: Path) -> int:
    """Write every event file under ``root / "events"`` into the store at ``root / "db"``
    as ingest would store it; returns the number of events written."""
    written = 0
    with embedded(root / "db") as container:
        table = table_of(EventRow)
        (index,) = [ix for ix in table.indexes if ix.name == BORROWER_INDEX]
        with container.engine.begin() as connection:
            connection.exec_driver_sql(f"PRAGMA cache_size=-{CACHE_KIB}")
            index.drop(connection)
        for path in ingestion.expand_paths([root / "events"]):
            offset = 0
            for records in read_batches(path, size=BATCH):
                written += _batch(container, path.name, records, offset=offset)
                offset += len(records)
        with container.engine.begin() as connection:
            index.create(connection)
    return written


def _batch(
    container: Container, source: str, records: list[Any] | pl.DataFrame, *, offset: int
) -> int:
    validated = ingestion.validate_batch(
        records, now=AS_OF, window=container.ingest.window, offset=offset
    )
    if validated.rejections:
        raise ValueError(f"{source}: {len(validated.rejections)} generated events rejected")
    rows = validated.rows.unique("event_id", keep="first", maintain_order=True)
    batch_id = uuid.uuid4().hex
    with container.session_factory() as session, session.begin():
        session.add(
            IngestBatchRow(
                batch_id=batch_id,
                source=f"file:{source}"[:300],
                received_at=AS_OF,
                accepted=rows.height,
                duplicates=validated.rows.height - rows.height,
                rejected=0,
            )
        )
        session.flush()
        stamped = rows.select(EVENT_SCHEMA.names()).with_columns(batch_id=pl.lit(batch_id))
        append_frame(session, table_of(EventRow), stamped)
    return rows.height
