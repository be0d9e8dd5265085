"""Commits that need not wait for the disk (platform.durability), on SQLite and PostgreSQL:
the relay's marks and a consumer's markers when its handler wrote nothing are relaxed; every
use-case and every consumer with an effect still commits durably; pooled connections go
back to durable commits."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, event, func, select, text

from repayguard.bootstrap import Container
from repayguard.platform.consumers import idempotent
from repayguard.platform.durability import relax_commit, wrote_nothing
from repayguard.platform.messages import Message
from repayguard.platform.outbox import OutboxRow, ProcessedMessage
from repayguard.platform.uow import UnitOfWork

from support.facts import FollowedUp, Happened, LocalEffect, Quiet

DURABLE, RELAXED = "durable", "relaxed"


def _level(connection: Connection) -> str:
    """How the connection's current transaction will commit."""
    raw: Any = connection.connection.dbapi_connection
    if connection.dialect.name == "sqlite":
        (level,) = raw.execute("PRAGMA synchronous").fetchone()
        return DURABLE if level >= 2 else RELAXED  # 2 = FULL, 1 = NORMAL
    with raw.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        (level,) = cursor.fetchone()
    return DURABLE if level == "on" else RELAXED


@pytest.fixture
def commits(container: Container) -> Iterator[list[str]]:
    """How each commit on the container's engine was made, in order, from now on."""
    seen: list[str] = []
    engine: Engine = container.engine

    def record(connection: Connection) -> None:
        seen.append(_level(connection))

    event.listen(engine, "commit", record)
    yield seen
    event.remove(engine, "commit", record)


def test_the_relay_marks_published_messages_without_waiting_for_the_disk(
    container: Container, commits: list[str]
) -> None:
    delivered: list[Message] = []
    container.bus.subscribe(Happened, delivered.append, consumer="test.happened")

    with container.uow() as uow:
        uow.emit(Message(Happened(n=1)))
        uow.commit()

    assert len(delivered) == 1
    assert commits == [DURABLE, RELAXED], "the use-case durably, then the relay's marks"
    with container.session_factory() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.published_at.is_(None))
            )
            == 0
        )
        # The pooled connection the relay used commits durably again.
        assert _level(session.connection()) == DURABLE


def test_a_consumer_that_wrote_nothing_commits_its_markers_relaxed(
    container: Container, commits: list[str]
) -> None:
    def nothing_to_do(message: Message, uow: UnitOfWork) -> None:
        with uow:
            uow.session.scalar(select(func.count()).select_from(OutboxRow))  # reads only
            uow.commit()

    handler = idempotent("test.quiet", nothing_to_do, uow=container.uow)
    container.bus.subscribe(Quiet, handler, consumer="test.quiet")
    with container.uow() as uow:
        uow.emit(Message(Quiet()))
        uow.commit()

    assert commits == [DURABLE, RELAXED, RELAXED], "use-case, the markers, the relay's marks"
    with container.session_factory() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(ProcessedMessage)
                .where(ProcessedMessage.consumer == "test.quiet")
            )
            == 1
        )


def test_a_consumer_with_an_effect_commits_it_with_its_markers_durably(
    container: Container, commits: list[str]
) -> None:
    def follow_up(message: Message, uow: UnitOfWork) -> None:
        with uow:
            uow.emit(Message(FollowedUp()))
            uow.commit()

    def writes_directly(message: Message, uow: UnitOfWork) -> None:
        with uow:
            uow.session.execute(
                text("UPDATE outbox SET attempts = attempts WHERE message_id = :id"),
                {"id": message.message_id},
            )
            uow.commit()

    bus = container.bus
    bus.subscribe(
        LocalEffect, idempotent("test.emits", follow_up, uow=container.uow), consumer="test.emits"
    )
    bus.subscribe(
        LocalEffect,
        idempotent("test.writes", writes_directly, uow=container.uow),
        consumer="test.writes",
    )
    with container.uow() as uow:
        uow.emit(Message(LocalEffect()))
        uow.commit()

    # The use-case, the two consumers' effects with their markers, then the relay's marks of
    # the first message and of the one the first consumer emitted.
    assert commits == [DURABLE, DURABLE, DURABLE, RELAXED, RELAXED]


def test_wrote_nothing_sees_pending_changes_and_statements_that_wrote(
    container: Container,
) -> None:
    with container.session_factory() as session:
        session.scalar(select(func.count()).select_from(OutboxRow))
        assert wrote_nothing(session)
        session.add(
            ProcessedMessage(consumer="t", message_id="m1", processed_at=container.clock.now())
        )
        assert not wrote_nothing(session), "a pending ORM change"
        session.flush()
        assert not wrote_nothing(session), "a flushed insert"
    with container.session_factory() as session:
        session.execute(text("UPDATE outbox SET attempts = attempts"))
        assert not wrote_nothing(session), "a statement that wrote"


def test_a_transaction_that_already_wrote_on_sqlite_commits_durably(
    container: Container, commits: list[str]
) -> None:
    with container.session_factory() as session:
        session.execute(text("UPDATE outbox SET attempts = attempts"))
        relaxed = relax_commit(session)
        session.commit()
    if container.engine.dialect.name == "sqlite":
        assert not relaxed
        assert commits == [DURABLE]
    else:  # PostgreSQL relaxes a transaction's commit at any point before it
        assert relaxed
        assert commits == [RELAXED]
