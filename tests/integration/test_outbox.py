"""Unit of work and outbox on a real database: commit once, publish after commit, at least
once delivery, idempotent consumers."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import func, select

from repayguard.bootstrap import Container
from repayguard.platform.consumers import idempotent
from repayguard.platform.messages import Message
from repayguard.platform.outbox import OutboxRow, ProcessedMessage
from repayguard.platform.uow import UnitOfWork

from support.facts import Batched, Counted, Flaky, Happened, Other, Retried


def _pending(container: Container) -> int:
    return container.relay.pending()


def test_messages_of_a_rolled_back_use_case_are_never_published(container: Container) -> None:
    seen: list[Message] = []
    container.bus.subscribe(Happened, seen.append)

    with container.session_factory() as session:  # start-up's own (the policy seed's)
        before = session.scalar(select(func.count()).select_from(OutboxRow))
    with container.uow() as uow:
        uow.emit(Message(Happened(n=1)))
        # leaving without commit rolls back

    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == before
    assert seen == []


def test_a_committed_message_is_published_after_commit_and_marked(container: Container) -> None:
    seen: list[Message] = []
    container.bus.subscribe(Happened, seen.append)

    with container.uow() as uow:
        uow.emit(Message(Happened(n=1)))
        assert seen == [], "nothing leaves before the commit"
        uow.commit()

    assert [m.payload for m in seen] == [{"n": 1}]
    assert _pending(container) == 0


def test_a_failed_delivery_stays_pending_and_is_delivered_again(container: Container) -> None:
    attempts: list[str] = []

    def flaky(message: Message) -> None:
        attempts.append(message.message_id)
        if len(attempts) == 1:
            raise ConnectionError("subscriber down")

    container.bus.subscribe(Flaky, flaky)
    with container.uow() as uow:
        uow.emit(Message(Flaky()))
        uow.commit()
    assert _pending(container) == 1

    assert container.relay.drain() == 1

    assert _pending(container) == 0
    assert len(attempts) == 2
    assert attempts[0] == attempts[1], "same message id on redelivery"


def test_an_idempotent_consumer_has_one_effect_however_often_a_message_arrives(
    container: Container,
) -> None:
    effects: list[int] = []

    def count_it(message: Message, uow: UnitOfWork) -> None:
        with uow:
            effects.append(message.payload["n"])
            uow.commit()

    handler = idempotent("test.counter", count_it, uow=container.uow)
    message = Message(Counted(n=7))
    for _ in range(3):
        handler(message)

    assert effects == [7]
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedMessage)) == 1


def test_a_consumer_that_fails_leaves_no_marker_and_runs_again(container: Container) -> None:
    calls: list[int] = []

    def fail_once(message: Message, uow: UnitOfWork) -> None:
        with uow:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("crash before commit")
            uow.commit()

    handler = idempotent("test.retry", fail_once, uow=container.uow)
    message = Message(Retried())
    with pytest.raises(RuntimeError):
        handler(message)
    handler(message)
    handler(message)

    assert len(calls) == 2


def _held_relay(container: Container) -> UnitOfWork:
    """A unit of work whose commit does not wake the relay: its messages wait together."""
    return UnitOfWork(container.session_factory, clock=container.clock)


def test_the_relay_hands_waiting_messages_of_one_subject_to_a_batch_handler_together(
    container: Container,
) -> None:
    deliveries: list[tuple[str, ...]] = []
    container.bus.subscribe_batch(
        Batched,
        lambda messages: deliveries.append(tuple(m.payload["n"] for m in messages)),
        consumer="test",
        max_batch=2,
    )
    container.bus.subscribe(Other, lambda message: deliveries.append(("other",)))
    with _held_relay(container) as uow:
        for fact in [Batched(n="1"), Batched(n="2"), Batched(n="3"), Other(n="-"), Batched(n="4")]:
            uow.emit(Message(fact))
        uow.commit()

    assert container.relay.drain() == 5

    assert deliveries == [("1", "2"), ("3",), ("other",), ("4",)], "order across subjects kept"


def test_a_failed_batch_stays_pending_whole_and_is_delivered_again(container: Container) -> None:
    sizes: list[int] = []

    def flaky(messages: Sequence[Message]) -> None:
        sizes.append(len(messages))
        if len(sizes) == 1:
            raise ConnectionError("subscriber down")

    container.bus.subscribe_batch(Flaky, flaky, consumer="test", max_batch=10)
    with _held_relay(container) as uow:
        for n in range(3):
            uow.emit(Message(Flaky(n=n)))
        uow.commit()

    assert container.relay.drain() == 0
    assert _pending(container) == 3
    assert container.relay.drain() == 3
    assert sizes == [3, 3]
    assert _pending(container) == 0


def test_a_row_no_fact_declares_stays_pending_with_the_reason(container: Container) -> None:
    """A row written by a newer release (a name this one has no fact for) is not lost: it
    waits, like a failed delivery, until a process that knows the name relays it."""
    seen: list[Message] = []
    container.bus.subscribe(Happened, seen.append)
    with _held_relay(container) as uow:
        uow.session.add(
            OutboxRow(
                message_id="from-a-newer-release",
                name="repayguard.test.not_declared",
                version=1,
                payload={"n": 1},
                created_at=container.clock.now(),
                attempts=0,
            )
        )
        uow.emit(Message(Happened(n=2)))
        uow.commit()

    assert container.relay.drain() == 0

    with container.session_factory() as session:
        row = session.scalars(
            select(OutboxRow).where(OutboxRow.message_id == "from-a-newer-release")
        ).one()
    assert row.published_at is None
    assert row.last_error is not None
    assert row.last_error.startswith("UnknownMessage")
    assert seen == [], "later rows wait behind it: order is kept"


def test_followers_of_a_committed_message_run_before_the_slow_effect_in_front_of_it(
    container: Container,
) -> None:
    """An online run commits its entitlement changes behind the batches ingested meanwhile;
    the authorize view (a follower) must get them before the next run, not after it."""
    followed: list[object] = []
    runs: list[tuple[object, list[object]]] = []

    def run(message: Message) -> None:
        runs.append((message.payload["n"], list(followed)))
        if message.payload["n"] == 1:
            with _held_relay(container) as uow:  # the next batch lands while the run works
                uow.emit(Message(Batched(n=2)))
                uow.commit()
            with _held_relay(container) as uow:  # then the run commits what it decided
                uow.emit(Message(Other(n="decided-1")))
                uow.commit()

    container.bus.subscribe(Batched, run)
    container.bus.follow(Other, lambda message: followed.append(message.payload["n"]))
    with _held_relay(container) as uow:
        uow.emit(Message(Batched(n=1)))
        uow.commit()

    assert container.relay.drain() == 3

    assert runs == [(1, []), (2, ["decided-1"])], "the second run starts with the first's result"
    assert followed == ["decided-1"], "followed once, not again when published"
    assert _pending(container) == 0
