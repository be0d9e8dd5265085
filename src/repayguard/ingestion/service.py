"""Ingestion use-cases: validate, de-duplicate by event_id, append, quarantine, announce."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

import polars as pl

from repayguard.ingestion import repository
from repayguard.ingestion.columns import ValidatedFrame, validate_batch
from repayguard.ingestion.errors import BatchTooLarge
from repayguard.ingestion.files import read_batches
from repayguard.ingestion.messages import EventsIngested
from repayguard.ingestion.models import IngestBatchRow
from repayguard.ingestion.quarantine import quarantine_rows
from repayguard.ingestion.validation import EventWindow, Rejection
from repayguard.platform.crypto import Keyring
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

MAX_BATCH: Final = 10_000


@dataclass(frozen=True, slots=True)
class IngestSetup:
    """What every ingestion shares: the plausible time window of events and the keyring that
    seals quarantined records (built once from the settings by bootstrap)."""

    window: EventWindow
    keyring: Keyring

    @classmethod
    def of(
        cls, *, keyring: Keyring, max_future_seconds: int, oldest_event_days: int
    ) -> IngestSetup:
        """The setup from the ingestion settings' numbers."""
        window = EventWindow(
            timedelta(seconds=max_future_seconds), timedelta(days=oldest_event_days)
        )
        return cls(window, keyring)


@dataclass(frozen=True, slots=True)
class IngestEvents:
    """Append a batch of wire records from ``source`` (or a file's frame of them, a column per
    field); ``offset`` numbers them within a file."""

    records: Sequence[Any] | pl.DataFrame
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


@dataclass(frozen=True, slots=True)
class PreparedBatch:
    """A batch validated at its unit of work's clock, with its valid events (the first of
    each event id) encoded for the store: all of its work that needs no transaction (a file
    import prepares the next batch on its reading thread while the current one is stored)."""

    validated: ValidatedFrame
    events: repository.PreparedEvents


def prepare_batch(
    cmd: IngestEvents, *, uow: UnitOfWork, setup: IngestSetup, store: str
) -> PreparedBatch:
    """Validate ``cmd`` at ``uow``'s clock, drop in-batch duplicates and encode the rest for
    ``store``; a batch over the size limit is refused whole, before any record is read."""
    validated = _validated(cmd, uow=uow, setup=setup)
    # In-batch duplicates: the first occurrence wins, as it would arriving one by one.
    unique = validated.rows.unique("event_id", keep="first", maintain_order=True)
    events = repository.prepare_events(unique, batch_id=uuid.uuid4().hex, store=store)
    return PreparedBatch(validated, events)


def ingest_events(
    cmd: IngestEvents,
    *,
    uow: UnitOfWork,
    setup: IngestSetup,
    prepared: PreparedBatch | None = None,
) -> IngestReport:
    """Land every valid, new record of the batch in one transaction.

    Invalid records are quarantined with their reasons and do not stop the others; a record
    whose event_id is already stored (or appears earlier in the same batch) is a duplicate and
    changes nothing; an event outside the plausible time window (by the unit of work's clock)
    is invalid. Quarantined records are sealed under the data keyring. ``accepted`` counts the
    events this call stored — under concurrent senders of the same events their counts sum to
    what was stored — and only those reach the one ``repayguard.events.ingested`` message,
    which names the affected borrowers. ``prepared``: the batch already prepared by the caller
    for this unit of work (:func:`prepare_batch`; a file import prepares the next batch
    meanwhile).
    """
    with uow:
        if prepared is None:
            store = repository.store_of(uow.session)
            prepared = prepare_batch(cmd, uow=uow, setup=setup, store=store)
        validated, batch_id = prepared.validated, prepared.events.batch_id
        now = uow.clock.now()
        session = uow.session
        # The events go first: their insert is where concurrent senders of the same ids meet
        # (the unique index decides), and the receipt is then written once, with its counts.
        fresh = repository.append_new_events(session, prepared.events)
        receipt = IngestBatchRow(
            batch_id=batch_id,
            source=cmd.source[:300],
            received_at=now,
            accepted=fresh.height,
            duplicates=validated.rows.height - fresh.height,
            rejected=len(validated.rejections),
        )
        repository.add_batch(session, receipt)
        repository.add_quarantined(
            session,
            quarantine_rows(
                validated.rejections, batch_id=batch_id, now=now, keyring=setup.keyring
            ),
        )
        borrowers = (
            prepared.events.borrowers
            if fresh.height == prepared.events.events.height
            else fresh["borrower_id"].drop_nulls().unique().sort().to_list()
        )
        if fresh.height:
            latest = fresh["occurred_at"].max()
            assert isinstance(latest, datetime)
            uow.emit(
                Message(
                    EventsIngested(
                        batch_id=batch_id,
                        accepted=fresh.height,
                        borrower_ids=tuple(borrowers),
                        latest_occurred_at=latest,
                    )
                )
            )
        uow.commit()
    return IngestReport(
        batch_id, receipt.accepted, receipt.duplicates, validated.rejections, borrowers
    )


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
    setup: IngestSetup,
    batch_size: int = MAX_BATCH,
    on_batch: Callable[[int], None] | None = None,
) -> FilesReport:
    """Import event files batch by batch, each batch its own transaction (same rules as REST).

    A crash mid-file loses nothing already committed, and running the import again only
    counts those records as duplicates. ``on_batch(n)`` reports progress in records.

    While a batch is being stored, the next one is read, validated and encoded for the store
    on a second thread (:func:`prepare_batch`): the store's append, Parquet reading and Polars
    run outside the interpreter lock, so preparing a batch costs no time of its own once the
    store is the slower part.
    """
    report = FilesReport(files=len(paths))
    batches = _file_batches(paths, batch_size)
    with uow() as probe:  # which store the batches are encoded for (no connection taken)
        store = repository.store_of(probe.session)
    with ThreadPoolExecutor(1, thread_name_prefix="ingest-read") as reader:
        ahead = reader.submit(_next_prepared, batches, uow, setup, store)
        while (prepared := ahead.result()) is not None:
            ahead = reader.submit(_next_prepared, batches, uow, setup, store)
            cmd, unit, batch = prepared
            result = ingest_events(cmd, uow=unit, setup=setup, prepared=batch)
            report.accepted += result.accepted
            report.duplicates += result.duplicates
            name = cmd.source.removeprefix("file:")
            report.rejections.extend((name, r) for r in result.rejections)
            report.borrower_ids.update(result.borrower_ids)
            if on_batch is not None:
                on_batch(len(cmd.records))
    return report


def _validated(cmd: IngestEvents, *, uow: UnitOfWork, setup: IngestSetup) -> ValidatedFrame:
    """The batch split into rows and rejections at the unit of work's clock; a batch over
    the size limit is refused whole, before any record is looked at."""
    if len(cmd.records) > MAX_BATCH:
        raise BatchTooLarge(
            f"a batch holds at most {MAX_BATCH:,} events; this one has {len(cmd.records):,}",
            hint="split it into batches of 10,000 or fewer",
        )
    return validate_batch(cmd.records, now=uow.clock.now(), window=setup.window, offset=cmd.offset)


def _file_batches(paths: Sequence[Path], size: int) -> Iterator[IngestEvents]:
    """Every file's records as batches, numbered within their file."""
    for path in paths:
        offset = 0
        for records in read_batches(path, size=size):
            yield IngestEvents(records, source=f"file:{path.name}", offset=offset)
            offset += len(records)


def _next_prepared(
    batches: Iterator[IngestEvents], uow: UnitOfWorkFactory, setup: IngestSetup, store: str
) -> tuple[IngestEvents, UnitOfWork, PreparedBatch] | None:
    """The next batch with the unit of work it will be stored in, prepared at that unit's
    clock for ``store`` (None: no batch left)."""
    cmd = next(batches, None)
    if cmd is None:
        return None
    unit = uow()
    return cmd, unit, prepare_batch(cmd, uow=unit, setup=setup, store=store)
