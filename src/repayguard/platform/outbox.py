"""Transactional outbox: messages are written with the change, then relayed after commit."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import JSON, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from repayguard.platform.bus import Bus, FollowsAhead
from repayguard.platform.clock import Clock
from repayguard.platform.db import Base, UtcDateTime
from repayguard.platform.durability import relax_commit
from repayguard.platform.messages import Message

log = structlog.get_logger(__name__)


class OutboxRow(Base):
    """A message waiting to be (or already) published; written in the use-case's transaction."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class ProcessedMessage(Base):
    """A message a consumer has fully handled; its presence makes redelivery a no-op."""

    __tablename__ = "processed_messages"

    consumer: Mapped[str] = mapped_column(String(120), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UtcDateTime)


def add_to_outbox(session: Session, message: Message, *, now: datetime) -> None:
    """Stage a message in the caller's transaction; it is published only if that commits."""
    session.add(
        OutboxRow(
            message_id=message.message_id,
            name=message.name,
            version=message.version,
            payload=message.payload,
            created_at=now,
            attempts=0,
        )
    )


class OutboxRelay:
    """Publishes committed outbox messages in order, at least once.

    Consecutive pending messages of one subject are published together (``publish_batch``),
    so a consumer that handles batches (the online decider) takes in one run what piled up
    while it was busy; a failed group stays pending whole.

    A message is marked published only after the bus accepted it, so a crash in between
    republishes it: consumers are idempotent (``ProcessedMessage``). For the same reason the
    marks are committed without waiting for the disk (:mod:`repayguard.platform.durability`).
    A message whose delivery fails stays pending, later messages wait behind it (order is
    kept) and the failure is logged with the attempt count.
    """

    def __init__(
        self, session_factory: sessionmaker[Session], bus: Bus, *, clock: Clock, batch: int = 100
    ) -> None:
        self._session_factory = session_factory
        self._bus = bus
        self._clock = clock
        self._batch = batch
        self._lock = threading.Lock()
        self._draining_thread: int | None = None
        self._follows_ahead = bus if isinstance(bus, FollowsAhead) else None

    def drain(self) -> int:
        """Publish every pending message; returns how many were published.

        A handler that commits new messages while this drain runs (on the same thread) does not
        start a nested drain: the running loop picks those messages up on its next fetch.
        """
        if self._draining_thread == threading.get_ident():
            return 0
        with self._lock:
            self._draining_thread = threading.get_ident()
            try:
                return self._drain_locked()
            finally:
                self._draining_thread = None

    def _drain_locked(self) -> int:
        published = 0
        while True:
            with self._session_factory() as session:
                rows = session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.published_at.is_(None))
                    .order_by(OutboxRow.id)
                    .limit(self._batch)
                ).all()
                if not rows:
                    return published
                decoded: dict[int, Message] = {}
                self._follow_ahead(rows, decoded)
                newest = self._newest(session)
                for group in _runs_of_one_subject(rows):
                    for row in group:
                        row.attempts += 1
                    try:
                        # A row this release has no fact for (written by a newer one) fails
                        # like a delivery: it stays pending, with the reason, and blocks no
                        # commit of the rows relayed before it.
                        messages = [decoded.get(r.id) or _decode(r) for r in group]
                        self._bus.publish_batch(messages)
                    except Exception as exc:
                        error = f"{type(exc).__name__}: {exc}"[:2000]
                        for row in group:
                            row.last_error = error
                        relax_commit(session)
                        session.commit()  # keeps the marks of the messages published before
                        log.error(
                            "outbox.delivery_failed",
                            message=group[0].name,
                            message_ids=[row.message_id for row in group],
                            attempts=group[0].attempts,
                            error=error,
                        )
                        return published
                    published_at = self._clock.now()
                    for row in group:
                        row.published_at = published_at
                    published += len(group)
                    if newest is not None and self._newest(session) != newest:
                        # The delivery committed messages (an online run's entitlement
                        # changes): fetch again, so their followers run ahead of the next
                        # effect in line instead of after it.
                        break
                # One commit per fetched batch: a crash before it republishes the batch, which
                # idempotent consumers absorb (delivery is at least once either way) -- and so
                # it need not wait for the disk (platform.durability).
                relax_commit(session)
                session.commit()

    def _follow_ahead(self, rows: Sequence[OutboxRow], decoded: dict[int, Message]) -> None:
        """On a bus that allows it (in-process), apply the followers of every fetched row
        before the effects in front of them run: this process's state -- the authorize view
        above all -- then trails the commits by one fetch, not by the effects queued ahead
        (an online decision run takes a while). A row that cannot be decoded stops it there;
        the rows from it on are followed when published."""
        if self._follows_ahead is None:
            return
        messages: list[Message] = []
        for row in rows:
            try:
                message = _decode(row)
            except Exception:
                break
            decoded[row.id] = message
            messages.append(message)
        self._follows_ahead.follow_ahead(messages)

    def _newest(self, session: Session) -> int | None:
        """The newest outbox row id, where followers run ahead (None elsewhere: there,
        fetching again sooner gains nothing)."""
        if self._follows_ahead is None:
            return None
        # Not flushing the marks: that would take SQLite's write lock before the next
        # delivery's own transaction needs it.
        with session.no_autoflush:
            return session.scalar(select(func.max(OutboxRow.id)))

    def backlog(self) -> tuple[int, datetime | None]:
        """Unpublished messages: how many, and when the oldest was committed (one indexed
        query; ``published_at`` is indexed, so it stays cheap however long the outbox grows)."""
        with self._session_factory() as session:
            count, oldest = session.execute(
                select(func.count(), func.min(OutboxRow.created_at)).where(
                    OutboxRow.published_at.is_(None)
                )
            ).one()
            return int(count or 0), oldest

    def pending(self) -> int:
        with self._session_factory() as session:
            count = session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.published_at.is_(None))
            )
            return int(count or 0)


def _decode(row: OutboxRow) -> Message:
    return Message.decode(row.name, row.payload, message_id=row.message_id, version=row.version)


def _runs_of_one_subject(rows: Sequence[OutboxRow]) -> Iterator[list[OutboxRow]]:
    """The rows in order, cut wherever the subject changes (order across subjects is kept)."""
    group: list[OutboxRow] = []
    for row in rows:
        if group and row.name != group[0].name:
            yield group
            group = []
        group.append(row)
    if group:
        yield group


class BackgroundRelay:
    """Runs ``OutboxRelay.drain`` on a thread, woken after each commit and on a timer."""

    def __init__(self, relay: OutboxRelay, *, interval_s: float = 1.0) -> None:
        self._relay = relay
        self._interval_s = interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)
        self._thread.start()

    def notify(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval_s)
            self._wake.clear()
            try:
                self._relay.drain()
            except Exception:
                log.exception("outbox.relay_crashed")
