"""Unit of work: one transaction per use-case, with its outbox messages, committed once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Self

from sqlalchemy.orm import Session, sessionmaker

from repayguard.platform.clock import Clock
from repayguard.platform.messages import Message
from repayguard.platform.outbox import add_to_outbox

CommitObserver = Callable[[Session, Sequence[Message]], None]
"""Sees every message of a unit of work inside its transaction, just before the commit (the
audit trail appends its chain records this way, so a change and its record land together)."""

CommittedObserver = Callable[[Sequence[Message]], None]
"""Sees the messages of a unit of work after its commit succeeded (metrics count facts this
way: only what committed, counted by the process that committed it). It must not raise."""


class UnitOfWork:
    """A transaction scope for one use-case.

    Repositories work on ``uow.session`` and never commit; the use-case calls ``commit()``
    once. Messages added with ``emit`` go into the outbox table inside the same transaction
    and are handed to the relay only after the commit succeeded. Leaving the block without
    committing rolls everything back, messages included. A unit of work is entered once.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Clock,
        after_commit: Callable[[], None] | None = None,
        observers: Sequence[CommitObserver] = (),
        committed: Sequence[CommittedObserver] = (),
    ) -> None:
        self._session_factory = session_factory
        self._after_commit = after_commit
        self._observers = tuple(observers)
        self._committed = tuple(committed)
        self.clock = clock
        self._session: Session | None = None
        self._emitted: list[Message] = []
        self._before_commit: list[Callable[[Session], None]] = []

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("use the unit of work inside a 'with' block")
        return self._session

    def __enter__(self) -> Self:
        self._session = self._session_factory()
        self._emitted = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()
        finally:
            session.close()
            self._session = None

    def emit(self, message: Message) -> None:
        """Record a message to publish if, and only if, this transaction commits."""
        add_to_outbox(self.session, message, now=self.clock.now())
        self._emitted.append(message)

    def before_commit(self, hook: Callable[[Session], None]) -> None:
        """Run ``hook`` inside the transaction just before it commits (e.g. a consumer's
        processed-marker, so the marker and the effect land together or not at all)."""
        self._before_commit.append(hook)

    def commit(self) -> None:
        for hook in self._before_commit:
            hook(self.session)
        self._before_commit.clear()
        if self._emitted:
            for observer in self._observers:
                observer(self.session, self._emitted)
        self.session.commit()
        emitted, self._emitted = self._emitted, []
        if emitted:
            for seen in self._committed:
                seen(emitted)
            if self._after_commit is not None:
                self._after_commit()


UnitOfWorkFactory = Callable[[], UnitOfWork]
