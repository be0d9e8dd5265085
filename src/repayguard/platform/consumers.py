"""Idempotent consumers: a redelivered message has no second effect."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from repayguard.platform.bus import Handler
from repayguard.platform.messages import Message
from repayguard.platform.outbox import ProcessedMessage
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory

TransactionalHandler = Callable[[Message, UnitOfWork], None]


def idempotent(consumer: str, handler: TransactionalHandler, *, uow: UnitOfWorkFactory) -> Handler:
    """Wrap a handler so its effect happens at most once per (consumer, message_id).

    The handler gets a fresh unit of work and runs its use-case in it as usual; the wrapper
    adds the processed-marker to that same transaction just before it commits, so the effect
    and the marker land together or not at all. A redelivered message finds the marker and is
    skipped; two concurrent deliveries collide on the marker's primary key and one rolls back.
    """

    def handle(message: Message) -> None:
        with uow() as probe:
            seen = probe.session.scalar(
                select(ProcessedMessage.message_id).where(
                    ProcessedMessage.consumer == consumer,
                    ProcessedMessage.message_id == message.message_id,
                )
            )
        if seen is not None:
            return
        unit = uow()

        def mark(session: Session) -> None:
            session.add(
                ProcessedMessage(
                    consumer=consumer, message_id=message.message_id, processed_at=unit.clock.now()
                )
            )

        unit.before_commit(mark)
        handler(message, unit)

    return handle
