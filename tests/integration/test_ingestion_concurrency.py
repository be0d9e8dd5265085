"""Ingestion under concurrency: counts are what each call actually stored."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from repayguard.bootstrap import Container
from repayguard.ingestion import EVENTS_INGESTED, IngestEvents, IngestReport, ingest_events
from repayguard.ingestion.models import EventRow
from repayguard.platform.bus import RecordingBus

from support.builders import due
from support.common import NOW

CALLERS = 20
EVENTS = 300


@pytest.mark.parametrize("order", ["same", "shuffled"])
def test_parallel_identical_batches_report_accepted_counts_that_sum_to_what_was_stored(
    container: Container, order: str
) -> None:
    """Twenty callers send the same 300 new events at once: the events land once, and the
    ``accepted`` of the twenty reports (and of the announcements) sum to exactly 300. Each
    caller's own order of the events (a replay is not always in order) must not deadlock."""
    batch = []
    for i in range(EVENTS):
        event = due(f"C{i % 30:03d}", NOW - timedelta(days=i % 40))
        event["event_id"] = f"C-{i:04d}"
        batch.append(event)
    start = threading.Barrier(CALLERS)

    def send(caller: int) -> IngestReport:
        events = list(batch)
        if order == "shuffled":
            random.Random(caller).shuffle(events)
        uow = container.uow()
        start.wait()
        return ingest_events(IngestEvents(events, source="test"), uow=uow, setup=container.ingest)

    with ThreadPoolExecutor(CALLERS) as pool:
        reports = list(pool.map(send, range(CALLERS)))

    with container.session_factory() as session:
        stored = session.scalar(select(func.count()).select_from(EventRow))
    assert stored == EVENTS
    assert sum(r.accepted for r in reports) == EVENTS
    assert all(r.accepted + r.duplicates == EVENTS for r in reports)
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    announced = [m.payload["accepted"] for m in bus.published if m.name == EVENTS_INGESTED]
    assert sum(announced) == EVENTS
