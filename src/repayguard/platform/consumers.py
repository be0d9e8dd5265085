"""Idempotent consumers: a redelivered message has no second effect."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from repayguard.platform.bus import BatchHandler, FactT, Handler
from repayguard.platform.durability import relax_commit, wrote_nothing
from repayguard.platform.messages import Message
from repayguard.platform.outbox import ProcessedMessage
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

TransactionalHandler = Callable[[Message[FactT], UnitOfWork], None]
TransactionalBatchHandler = Callable[[Sequence[Message[FactT]], UnitOfWork], None]


def idempotent(
    consumer: str, handler: TransactionalHandler[FactT], *, uow: UnitOfWorkFactory
) -> Handler[FactT]:
    """Wrap a handler so its effect happens at most once per (consumer, message_id).

    The handler gets a fresh unit of work and runs its use-case in it as usual; the wrapper
    adds the processed-marker to that same transaction just before it commits, so the effect
    and the marker land together or not at all. A redelivered message finds the marker and is
    skipped; two concurrent deliveries collide on the marker's primary key and one rolls back.
    """

    def one(messages: Sequence[Message[FactT]], unit: UnitOfWork) -> None:
        handler(messages[0], unit)

    batch = idempotent_batch(consumer, one, uow=uow)
    return lambda message: batch((message,))


def idempotent_batch(
    consumer: str, handler: TransactionalBatchHandler[FactT], *, uow: UnitOfWorkFactory
) -> BatchHandler[FactT]:
    """Wrap a batch handler so each message of a batch has its effect at most once.

    The messages this consumer already processed are dropped from the batch (one query), as
    are repeats within it; the handler gets the rest, in order, with one fresh unit of work, and
    the processed-markers of all of them join that transaction just before it commits: the
    batch's effect and its markers land together or not at all. When the handler wrote
    nothing, that commit does not wait for the disk (``platform.durability``). A batch whose
    messages were all processed is skipped without calling the handler.
    """

    def handle(messages: Sequence[Message[FactT]]) -> None:
        ids = {message.message_id for message in messages}
        with uow() as probe:
            seen = set(
                probe.session.scalars(
                    select(ProcessedMessage.message_id).where(
                        ProcessedMessage.consumer == consumer,
                        ProcessedMessage.message_id.in_(ids),
                    )
                )
            )
        fresh: dict[str, Message[FactT]] = {}
        for message in messages:
            if message.message_id not in seen:
                fresh.setdefault(message.message_id, message)
        if not fresh:
            return
        unit = uow()

        def mark(session: Session) -> None:
            if wrote_nothing(session):
                # Only the markers: lost in a crash, the messages are handled again and find
                # what they found now (platform.durability), so the commit need not wait for
                # the disk.
                relax_commit(session)
            processed_at = unit.clock.now()
            session.add_all(
                ProcessedMessage(consumer=consumer, message_id=key, processed_at=processed_at)
                for key in fresh
            )

        unit.before_commit(mark)
        handler(tuple(fresh.values()), unit)

    return handle
