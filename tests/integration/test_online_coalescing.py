"""The online decider coalesces: ingested batches waiting on the bus are decided in one run
(the union of their borrowers), each message processed once (SQLite and PostgreSQL; in-process
relay and NATS JetStream)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from repayguard.bootstrap import Container, bootstrap
from repayguard.decisions import triggers
from repayguard.decisions.models import DecisionRow, DecisionRunRow
from repayguard.ingestion import EVENTS_INGESTED, IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.outbox import ProcessedMessage
from repayguard.platform.uow import UnitOfWork

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.nats import Names, wait_until

BORROWERS = ("B1", "B2", "B3")


def _ingest_without_relaying(container: Container) -> None:
    """Three ingested batches committed while the relay is busy elsewhere: their messages
    wait in the outbox together (the background relay's situation under load)."""
    histories = (
        failing_debits_history("B1", NOW),
        healthy_history("B2", NOW),
        failing_debits_history("B3", NOW) + healthy_history("B1", NOW - NOW.resolution),
    )
    for events in histories:
        unit = UnitOfWork(container.session_factory, clock=container.clock)
        ingest_events(IngestEvents(events, source="test"), uow=unit, setup=container.ingest)


def _online_runs(container: Container) -> list[int]:
    """Borrowers of each online run, in order."""
    with container.session_factory() as session:
        return list(
            session.scalars(
                select(DecisionRunRow.borrowers)
                .where(DecisionRunRow.trigger == triggers.EVENTS)
                .order_by(DecisionRunRow.started_at, DecisionRunRow.run_id)
            )
        )


def _decided(container: Container) -> dict[str, int]:
    with container.session_factory() as session:
        rows = session.execute(
            select(DecisionRow.borrower_id, func.count()).group_by(DecisionRow.borrower_id)
        )
        return {str(borrower): int(count) for borrower, count in rows}


def _processed(container: Container) -> int:
    with container.session_factory() as session:
        count = session.scalar(
            select(func.count())
            .select_from(ProcessedMessage)
            .where(ProcessedMessage.consumer == "decisions.online")
        )
        return int(count or 0)


def test_waiting_ingested_batches_are_decided_in_one_run(container: Container) -> None:
    _ingest_without_relaying(container)
    assert _online_runs(container) == [], "nothing relayed yet"

    container.relay.drain()

    assert _online_runs(container) == [len(BORROWERS)], "one run names every borrower"
    assert _decided(container) == dict.fromkeys(BORROWERS, 1), "B1 decided once, not twice"
    assert _processed(container) == 3, "each ingested message marked processed"


def test_a_redelivered_batch_changes_nothing(container: Container) -> None:
    _ingest_without_relaying(container)
    container.relay.drain()
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    ingested = [m for m in bus.published if m.name == EVENTS_INGESTED]

    bus.publish_batch(ingested)
    bus.publish_batch(ingested[1:] + ingested[:1])
    bus.publish(ingested[0])

    assert _online_runs(container) == [len(BORROWERS)]
    assert _decided(container) == dict.fromkeys(BORROWERS, 1)
    assert _processed(container) == 3


def test_a_batch_larger_than_the_coalescing_limit_runs_in_slices(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, online_coalesce=2)
    with bootstrap(settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True) as container:
        _ingest_without_relaying(container)
        container.relay.drain()

        assert _online_runs(container) == [2, 2], "B1+B2, then B3+B1"
        assert _processed(container) == 3


def test_on_nats_waiting_ingested_batches_are_decided_in_one_run(
    database_url: str, tmp_path: Path, names: Names
) -> None:
    settings = names.settings(make_settings(database_url, tmp_path))
    clock = FixedClock(NOW)
    with bootstrap(settings, clock=clock, migrate=True) as cli:
        # A one-shot process publishes; nobody consumes until the server below starts, so
        # the three messages wait in the stream together.
        for events in (
            failing_debits_history("B1", NOW),
            healthy_history("B2", NOW),
            failing_debits_history("B3", NOW),
        ):
            ingest_events(IngestEvents(events, source="test"), uow=cli.uow(), setup=cli.ingest)
    with bootstrap(settings, clock=clock, consume=True) as server:
        wait_until(lambda: _processed(server) == 3, what="the three messages processed")

        assert _online_runs(server) == [len(BORROWERS)]
        assert _decided(server) == dict.fromkeys(BORROWERS, 1)
