"""Quarantine on a real database: records sealed under the data keyring, readable by its
holder only, and deleted by the worker once past their retention (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from repayguard.bootstrap import Container
from repayguard.errors import PersonalDataUnreadable
from repayguard.ingestion import (
    EXPIRY_JOB,
    IngestEvents,
    expiry_job,
    ingest_events,
    quarantine_key_usage,
    quarantined,
    rotate_quarantine,
)
from repayguard.ingestion.models import QuarantineRow
from repayguard.platform.clock import FixedClock
from repayguard.platform.crypto import Keyring
from repayguard.platform.jobs import JobContext

from support.builders import due


def _reject(container: Container, tag: str, count: int = 1) -> str:
    bad = [
        due("B1", container.clock.now()) | {"event_id": f"{tag}-{i}", "amount": -1}
        for i in range(count)
    ]
    report = ingest_events(
        IngestEvents(bad, source="test"), uow=container.uow(), setup=container.ingest
    )
    assert report.rejected == count
    return report.batch_id


def _kept(container: Container) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(QuarantineRow)) or 0)


def test_a_quarantined_record_reads_back_only_with_the_keyring(container: Container) -> None:
    assert container.keyring is not None
    batch_id = _reject(container, "Q")

    (record,) = quarantined(batch_id, uow=container.uow(), keyring=container.keyring)

    assert json.loads(record.raw or "")["event_id"] == "Q-0"
    assert record.errors == [
        {"field": "amount", "reason": "Input should be greater than or equal to 0"}
    ]
    with pytest.raises(PersonalDataUnreadable):
        quarantined(
            batch_id, uow=container.uow(), keyring=Keyring.generate(container.keyring.active)
        )


def test_the_expiry_job_deletes_only_records_past_their_retention(
    container: Container, clock: FixedClock
) -> None:
    _reject(container, "OLD", count=3)
    clock.advance(timedelta(days=20))
    young = _reject(container, "NEW", count=2)
    clock.advance(timedelta(days=11))  # the first batch is 31 days old, the second 11
    job = expiry_job(retention=timedelta(days=30), every=timedelta(hours=1))
    context = JobContext(uow=container.uow, clock=clock, holder="test", heartbeat=lambda: None)

    outcome = job.run(context)
    again = job.run(context)

    assert job.name == EXPIRY_JOB
    assert (outcome.counts["deleted"], again.counts["deleted"]) == (3, 0)
    assert outcome.summary == "3 quarantined record(s) older than 30 days deleted"
    assert _kept(container) == 2
    assert container.keyring is not None
    assert [
        r.record_index for r in quarantined(young, uow=container.uow(), keyring=container.keyring)
    ] == [0, 1]


def test_the_worker_runs_the_expiry_job(container: Container) -> None:
    assert EXPIRY_JOB in {job.name for job in container.jobs}


def test_a_key_rotation_reseals_quarantine_so_the_old_key_can_go(container: Container) -> None:
    assert container.keyring is not None
    old = container.keyring.active
    batch_id = _reject(container, "R", count=3)
    rotated_ring = container.keyring.with_new_active_key()

    rotation = rotate_quarantine(uow=container.uow, keyring=rotated_ring, batch_size=2)
    again = rotate_quarantine(uow=container.uow, keyring=rotated_ring)

    assert (rotation.rotated, rotation.remaining, again.rotated) == (3, 0, 0)
    assert quarantine_key_usage(uow=container.uow()) == {rotated_ring.active: 3}
    records = quarantined(batch_id, uow=container.uow(), keyring=rotated_ring.without(old))
    assert [json.loads(r.raw or "")["event_id"] for r in records] == ["R-0", "R-1", "R-2"]
