"""A repayguard process that kills itself (SIGKILL) at a chosen point of the outbox path.

Run by test_outbox_crashes.py as ``python crash_worker.py DB_URL POINT N``: it commits N
use-cases, each emitting one message, and relays them to an idempotent consumer that records
the message's effect in a table. ``POINT`` says where the process dies:

- ``before_commit``:    inside the use-case, before its commit (the change must vanish)
- ``after_commit``:     after the commit, before anything is relayed
- ``in_consumer``:      inside the consumer, before its transaction commits
- ``after_consumer``:   after the consumer committed, before the relay marks the message
- ``none``:             no crash (the recovery run)
"""

from __future__ import annotations

import os
import signal
import sys

from sqlalchemy import Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from repayguard.platform.bus import InProcessBus
from repayguard.platform.clock import SystemClock
from repayguard.platform.consumers import idempotent
from repayguard.platform.db import Base, make_engine, make_session_factory
from repayguard.platform.messages import Message
from repayguard.platform.outbox import OutboxRelay
from repayguard.platform.schema import upgrade
from repayguard.platform.uow import UnitOfWork

from support.facts import CrashHappened


class Change(Base):
    """The use-case's own effect."""

    __tablename__ = "crash_changes"
    n: Mapped[int] = mapped_column(Integer, primary_key=True)


class Effect(Base):
    """What the consumer did; one row per effect, never deduplicated by a key of its own."""

    __tablename__ = "crash_effects"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    n: Mapped[int] = mapped_column(Integer)
    message_id: Mapped[str] = mapped_column(String(32))


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    url, point, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    engine = make_engine(url)
    upgrade(engine)
    Base.metadata.create_all(engine, tables=[Change.__table__, Effect.__table__])  # type: ignore[list-item]
    sessions = make_session_factory(engine)
    clock = SystemClock()
    bus = InProcessBus()
    relay = OutboxRelay(sessions, bus, clock=clock, batch=1)

    def uow() -> UnitOfWork:
        return UnitOfWork(sessions, clock=clock)

    def consume(message: Message, unit: UnitOfWork) -> None:
        with unit:
            unit.session.add(Effect(n=message.payload["n"], message_id=message.message_id))
            if point == "in_consumer" and message.payload["n"] == count - 1:
                unit.session.flush()
                die()
            unit.commit()

    handler = idempotent("crash.consumer", consume, uow=uow)

    def deliver(message: Message) -> None:
        handler(message)
        if point == "after_consumer" and message.payload["n"] == count - 1:
            die()

    bus.subscribe(CrashHappened, deliver)

    with Session(engine) as session:
        done = set(session.scalars(select(Change.n)))
    for n in range(count):
        if n in done:
            continue
        with uow() as unit:
            unit.session.add(Change(n=n))
            unit.emit(Message(CrashHappened(n=n)))
            if point == "before_commit" and n == count - 1:
                unit.session.flush()
                die()
            unit.commit()
        if point == "after_commit" and n == count - 1:
            die()
    relay.drain()


if __name__ == "__main__":
    main()
