"""The ``idempotency_keys`` table and its store: claim a key, keep or release its response."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import Integer, LargeBinary, String, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from repayguard.platform.clock import Clock
from repayguard.platform.db import Base, UtcDateTime, table_of

IN_FLIGHT: Final = "in_flight"
COMPLETED: Final = "completed"
_PURGE_EVERY = 1_000


class IdempotencyKeyRow(Base):
    """One Idempotency-Key of one caller: the request's keyed fingerprint, then its response."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_type: Mapped[str | None] = mapped_column(String(200))
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    locked_until: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


_KEYS = table_of(IdempotencyKeyRow)


@dataclass(frozen=True, slots=True)
class Claimed:
    """This request owns the key: run it, then ``complete`` or ``release``."""


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    content_type: str | None
    body: bytes


@dataclass(frozen=True, slots=True)
class Mismatch:
    """The key was first used with a different request."""


@dataclass(frozen=True, slots=True)
class InFlight:
    """The first request with the key is still running."""


Claim = Claimed | Replay | Mismatch | InFlight


class IdempotencyStore:
    """The ``idempotency_keys`` table: claim a key, then store or release its response.

    A claim is an INSERT, so two concurrent first requests collide on the primary key and
    exactly one runs. ``lease``: an in-flight claim older than this (its server died) may be
    taken over by a retry of the same request; ``ttl``: how long a response is replayed.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        clock: Clock,
        ttl: timedelta = timedelta(hours=24),
        lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._ttl = ttl
        self._lease = lease
        self._claims = 0

    def claim(self, scope: str, key: str, request_hash: str) -> Claim:
        for _ in range(5):
            now = self._clock.now()
            with self._session_factory() as session:
                try:
                    session.execute(
                        insert(_KEYS).values(
                            scope=scope,
                            key=key,
                            request_hash=request_hash,
                            status=IN_FLIGHT,
                            created_at=now,
                            locked_until=now + self._lease,
                            expires_at=now + self._ttl,
                        )
                    )
                    session.commit()
                    self._after_claim()
                    return Claimed()
                except IntegrityError:
                    session.rollback()
                row = session.execute(
                    select(_KEYS).where(_KEYS.c.scope == scope, _KEYS.c.key == key)
                ).one_or_none()
                if row is None:
                    continue  # released or purged meanwhile: claim again
                expired = row.expires_at <= now
                if not expired and row.request_hash != request_hash:
                    return Mismatch()
                if expired or (row.status == IN_FLIGHT and row.locked_until <= now):
                    if self._take_over(session, row, request_hash, now):
                        return Claimed()
                    continue
                if row.status == IN_FLIGHT:
                    return InFlight()
                return Replay(
                    int(row.response_status or 500), row.response_type, row.response_body or b""
                )
        return InFlight()

    def _take_over(self, session: Session, row: Any, request_hash: str, now: datetime) -> bool:
        result = session.execute(
            update(_KEYS)
            .where(
                _KEYS.c.scope == row.scope,
                _KEYS.c.key == row.key,
                _KEYS.c.created_at == row.created_at,
            )
            .values(
                request_hash=request_hash,
                status=IN_FLIGHT,
                response_status=None,
                response_type=None,
                response_body=None,
                created_at=now,
                locked_until=now + self._lease,
                expires_at=now + self._ttl,
            )
        )
        session.commit()
        return bool(getattr(result, "rowcount", 0))

    def complete(
        self,
        scope: str,
        key: str,
        request_hash: str,
        *,
        status: int,
        content_type: str | None,
        body: bytes,
    ) -> None:
        with self._session_factory() as session:
            session.execute(
                update(_KEYS)
                .where(
                    _KEYS.c.scope == scope,
                    _KEYS.c.key == key,
                    _KEYS.c.request_hash == request_hash,
                    _KEYS.c.status == IN_FLIGHT,
                )
                .values(
                    status=COMPLETED,
                    response_status=status,
                    response_type=content_type,
                    response_body=body,
                )
            )
            session.commit()

    def release(self, scope: str, key: str, request_hash: str) -> None:
        """Forget an in-flight claim whose request failed (5xx): a retry may run it again."""
        with self._session_factory() as session:
            session.execute(
                delete(_KEYS).where(
                    _KEYS.c.scope == scope,
                    _KEYS.c.key == key,
                    _KEYS.c.request_hash == request_hash,
                    _KEYS.c.status == IN_FLIGHT,
                )
            )
            session.commit()

    def purge_expired(self) -> int:
        """Delete keys past their expiry; returns how many."""
        with self._session_factory() as session:
            result = session.execute(delete(_KEYS).where(_KEYS.c.expires_at <= self._clock.now()))
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0)

    def _after_claim(self) -> None:
        self._claims += 1
        if self._claims % _PURGE_EVERY == 0:
            self.purge_expired()
