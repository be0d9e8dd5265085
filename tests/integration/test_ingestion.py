"""Ingestion on a real database: per-record rejection, quarantine, exactly-once effect."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from repayguard.bootstrap import Container
from repayguard.ingestion import EVENTS_INGESTED, IngestEvents, ingest_events
from repayguard.ingestion import quarantined as quarantined_records
from repayguard.ingestion.models import EventRow, QuarantineRow
from repayguard.platform.bus import RecordingBus
from repayguard.platform.crypto import Keyring

from support.builders import due, make_event, paid
from support.common import NOW


def _batch(size: int, prefix: str) -> list[dict[str, object]]:
    events = []
    for i in range(size):
        borrower = f"{prefix}{i % 50:04d}"
        event = (
            due(borrower, NOW - timedelta(days=i % 60))
            if i % 2
            else paid(borrower, NOW - timedelta(days=i % 60))
        )
        event["event_id"] = f"{prefix}-{i:05d}"
        events.append(event)
    return events


def _ring(container: Container) -> Keyring:
    assert container.keyring is not None
    return container.keyring


def _count(container: Container, model: type) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_one_malformed_record_is_rejected_with_its_index_and_the_rest_land(
    container: Container,
) -> None:
    batch = _batch(1_000, "M")
    batch[417]["amount"] = -12  # a negative instalment is not an amount

    report = ingest_events(
        IngestEvents(batch, source="test"), uow=container.uow(), setup=container.ingest
    )

    assert (report.accepted, report.duplicates, report.rejected) == (999, 0, 1)
    (rejection,) = report.rejections
    assert rejection.index == 417
    assert rejection.event_id == "M-00417"
    assert [(e.field, e.reason) for e in rejection.errors] == [
        ("amount", "Input should be greater than or equal to 0")
    ]
    assert _count(container, EventRow) == 999
    with container.session_factory() as session:
        quarantined = session.scalars(select(QuarantineRow)).one()
    assert quarantined.record_index == 417
    assert quarantined.errors == [
        {"field": "amount", "reason": "Input should be greater than or equal to 0"}
    ]
    assert quarantined.key_id == _ring(container).active
    assert '"M-00417"' not in quarantined.raw, "the record is sealed, not kept in clear"
    (record,) = quarantined_records(report.batch_id, uow=container.uow(), keyring=_ring(container))
    assert json.loads(record.raw or "")["event_id"] == "M-00417"


def test_sending_the_same_batch_again_changes_nothing(container: Container) -> None:
    batch = _batch(1_000, "D")
    first = ingest_events(
        IngestEvents(batch, source="test"), uow=container.uow(), setup=container.ingest
    )
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    published_before = len(bus.published)
    with container.session_factory() as session:
        entitlements_before = session.execute(select(func.count()).select_from(EventRow)).scalar()

    again = ingest_events(
        IngestEvents(batch, source="test"), uow=container.uow(), setup=container.ingest
    )

    assert (first.accepted, first.duplicates) == (1_000, 0)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 1_000, 0)
    assert _count(container, EventRow) == entitlements_before == 1_000
    assert len(bus.published) == published_before, "a duplicate batch must not announce anything"


def test_a_mixed_batch_resent_counts_its_valid_records_as_duplicates(container: Container) -> None:
    batch = _batch(20, "X")
    batch[3]["type"] = "mortgage"
    ingest_events(IngestEvents(batch, source="test"), uow=container.uow(), setup=container.ingest)

    again = ingest_events(
        IngestEvents(batch, source="test"), uow=container.uow(), setup=container.ingest
    )

    assert (again.accepted, again.duplicates, again.rejected) == (0, 19, 1)
    assert again.rejections[0].errors[0].field == "type"
    assert "unknown event type 'mortgage'" in again.rejections[0].errors[0].reason


def test_a_batch_partly_stored_reports_and_announces_only_its_new_events(
    container: Container,
) -> None:
    """The new half of a batch is told apart from the stored half in batch order: its count,
    its borrowers and its newest time are the announcement's, the stored ones are not."""
    stored = [paid(f"OLD{i:02d}", NOW - timedelta(days=1), event_id=f"P-{i:03d}") for i in range(6)]
    ingest_events(IngestEvents(stored, source="test"), uow=container.uow(), setup=container.ingest)
    new = [due(f"NEW{i:02d}", NOW - timedelta(days=10 - i)) for i in range(4)]
    for i, event in enumerate(new):
        event["event_id"] = f"P-{100 + i:03d}"
    mixed = [stored[0], new[0], stored[1], new[1], new[2], stored[2], new[3]]
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    published_before = len(bus.published)

    report = ingest_events(
        IngestEvents(mixed, source="test"), uow=container.uow(), setup=container.ingest
    )

    assert (report.accepted, report.duplicates, report.rejected) == (4, 3, 0)
    assert report.borrower_ids == ["NEW00", "NEW01", "NEW02", "NEW03"]
    assert _count(container, EventRow) == 10
    (announced,) = [
        m.payload for m in bus.published[published_before:] if m.name == EVENTS_INGESTED
    ]
    assert announced["accepted"] == 4
    assert announced["borrower_ids"] == ["NEW00", "NEW01", "NEW02", "NEW03"]
    assert announced["latest_occurred_at"] == (NOW - timedelta(days=7)).isoformat()
    with container.session_factory() as session:
        newest = session.scalars(select(EventRow.event_id).order_by(EventRow.seq)).all()[-4:]
    assert newest == ["P-100", "P-101", "P-102", "P-103"], "appended in batch order"


def test_a_duplicate_within_one_batch_lands_once(container: Container) -> None:
    event = due("B1", NOW)
    report = ingest_events(
        IngestEvents([event, dict(event)], source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )
    assert (report.accepted, report.duplicates) == (1, 1)


def test_every_field_error_of_a_record_is_reported(container: Container) -> None:
    record = make_event("repayment", "B1", NOW, kind="paid", amount="lots", colour="red")
    report = ingest_events(
        IngestEvents([record], source="test"), uow=container.uow(), setup=container.ingest
    )
    fields = {e.field for e in report.rejections[0].errors}
    assert fields == {"loan_id", "amount", "colour"}


def test_records_that_are_not_objects_are_rejected_not_fatal(container: Container) -> None:
    report = ingest_events(
        IngestEvents(["not an event", 42, due("B1", NOW)], source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )
    assert report.accepted == 1
    assert [r.index for r in report.rejections] == [0, 1]


def test_a_record_with_a_nul_character_is_quarantined_and_the_rest_land(
    container: Container,
) -> None:
    """PostgreSQL keeps no NUL character: the rejected record is kept with it escaped, and
    its batch lands like any other (on SQLite too)."""
    batch = _batch(3, "Z")
    batch[1]["event_id"] = "Z-\x00-1"
    batch[2]["channel\x00"] = "app"

    report = ingest_events(
        IngestEvents(batch, source="test"), uow=container.uow(), setup=container.ingest
    )

    assert (report.accepted, report.rejected) == (1, 2)
    assert [r.index for r in report.rejections] == [1, 2]
    with container.session_factory() as session:
        kept = session.scalars(select(QuarantineRow).order_by(QuarantineRow.record_index)).all()
    assert kept[0].event_id == "Z-\\u0000-1"
    assert "\x00" not in kept[1].raw + str(kept[1].errors)
    sealed, _ = quarantined_records(report.batch_id, uow=container.uow(), keyring=_ring(container))
    assert sealed.record_index == 1
    assert "Z-\\u0000-1" in (sealed.raw or "")
