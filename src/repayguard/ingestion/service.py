"""Ingestion use-cases: validate, de-duplicate by event_id, append, quarantine, announce."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from repayguard.errors import BatchTooLarge
from repayguard.ingestion import repository
from repayguard.ingestion.files import read_batches
from repayguard.ingestion.models import IngestBatchRow
from repayguard.ingestion.validation import Rejection, validate_records
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

MAX_BATCH: Final = 10_000
EVENTS_INGESTED: Final = "repayguard.events.ingested"
_RAW_LIMIT = 20_000  # characters of a rejected record kept in quarantine


@dataclass(frozen=True, slots=True)
class IngestEvents:
    """Append a batch of wire records from ``source``; ``offset`` numbers them within a file."""

    records: Sequence[Any]
    source: str
    offset: int = 0


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What became of a batch. ``borrower_ids`` are those with newly accepted events."""

    batch_id: str
    accepted: int
    duplicates: int
    rejections: list[Rejection] = field(default_factory=list)
    borrower_ids: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


def ingest_events(cmd: IngestEvents, *, uow: UnitOfWork) -> IngestReport:
    """Land every valid, new record of the batch in one transaction.

    Invalid records are quarantined with their reasons and do not stop the others; a record
    whose event_id is already stored (or appears earlier in the same batch) is a duplicate and
    changes nothing. One ``repayguard.events.ingested`` message names the affected borrowers.
    """
    if len(cmd.records) > MAX_BATCH:
        raise BatchTooLarge(
            f"a batch holds at most {MAX_BATCH:,} events; this one has {len(cmd.records):,}",
            hint="split it into batches of 10,000 or fewer",
        )
    validated = validate_records(cmd.records, offset=cmd.offset)
    batch_id = uuid.uuid4().hex
    with uow:
        now = uow.clock.now()
        session = uow.session
        ids = [row["event_id"] for row in validated.rows]
        stored = repository.existing_event_ids(session, ids)
        seen: set[str] = set()
        fresh: list[dict[str, Any]] = []
        for row in validated.rows:
            event_id = row["event_id"]
            if event_id in stored or event_id in seen:
                continue
            seen.add(event_id)
            fresh.append(row)
        duplicates = len(validated.rows) - len(fresh)
        repository.add_events(session, fresh, batch_id=batch_id)
        repository.add_quarantined(
            session,
            [
                {
                    "batch_id": batch_id,
                    "record_index": rejection.index,
                    "event_id": rejection.event_id and _storable(rejection.event_id),
                    "errors": [
                        {"field": _storable(e.field), "reason": _storable(e.reason)}
                        for e in rejection.errors
                    ],
                    "raw": json.dumps(rejection.raw, default=str, ensure_ascii=False)[:_RAW_LIMIT],
                    "received_at": now,
                }
                for rejection in validated.rejections
            ],
        )
        repository.add_batch(
            session,
            IngestBatchRow(
                batch_id=batch_id,
                source=cmd.source[:300],
                received_at=now,
                accepted=len(fresh),
                duplicates=duplicates,
                rejected=len(validated.rejections),
            ),
        )
        borrowers = sorted({row["borrower_id"] for row in fresh if row["borrower_id"]})
        if fresh:
            latest = max(row["occurred_at"] for row in fresh)
            uow.emit(
                Message(
                    EVENTS_INGESTED,
                    {
                        "batch_id": batch_id,
                        "accepted": len(fresh),
                        "borrower_ids": borrowers,
                        "latest_occurred_at": latest.isoformat(),
                    },
                )
            )
        uow.commit()
    return IngestReport(batch_id, len(fresh), duplicates, validated.rejections, borrowers)


@dataclass(slots=True)
class FilesReport:
    """Totals of a file import; rejections keep the file and the record's index in it."""

    files: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejections: list[tuple[str, Rejection]] = field(default_factory=list)
    borrower_ids: set[str] = field(default_factory=set)

    @property
    def rejected(self) -> int:
        return len(self.rejections)


def ingest_files(
    paths: Sequence[Path],
    *,
    uow: UnitOfWorkFactory,
    batch_size: int = MAX_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> FilesReport:
    """Import event files batch by batch, each batch its own transaction (same rules as REST).

    A crash mid-file loses nothing already committed, and running the import again only
    counts those records as duplicates. ``on_batch(n)`` reports progress in records.
    """
    report = FilesReport()
    for path in paths:
        report.files += 1
        offset = 0
        for records in read_batches(path, size=batch_size):
            result = ingest_events(
                IngestEvents(records, source=f"file:{path.name}", offset=offset), uow=uow()
            )
            offset += len(records)
            report.accepted += result.accepted
            report.duplicates += result.duplicates
            report.rejections.extend((path.name, r) for r in result.rejections)
            report.borrower_ids.update(result.borrower_ids)
            if on_batch is not None:
                on_batch(len(records))
    return report


def _storable(text: str) -> str:
    """A rejected record's text as every database can keep it: PostgreSQL refuses the NUL
    character, so it is written as its JSON escape (the raw record is JSON, escaped already).
    A NUL never reaches an accepted event: identifiers allow no control characters."""
    return text.replace("\x00", "\\u0000")
