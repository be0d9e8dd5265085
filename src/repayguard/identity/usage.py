"""Token use on the audit trail: every API call counted per token in memory, written out in
summary — one chained record per token per window — so the authorize path never waits on a
database write.

A record (``repayguard.token.used``) says which token called, as what (kind, role, operator or
borrower: the audit trail pseudonymises borrowers), how many calls it made and how many were
refused, between which moments, and on which routes. Calls with a token that resolves to
nobody (unknown, revoked, expired) are summed in one ``repayguard.token.rejected`` record per
window, by route. Counting costs a lock and a few dictionary updates per call; what was counted
but not yet written is written when the server stops (a crash loses at most one window).
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from sqlalchemy import or_, update
from sqlalchemy.orm import Session

from repayguard.identity.messages import TokenRejected, TokenUsed
from repayguard.identity.models import TokenRow
from repayguard.identity.permissions import Principal
from repayguard.platform.clock import Clock
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

RECORDS_PER_COMMIT: Final = 1_000


@dataclass(slots=True)
class _Tally:
    """What one caller did in the current window."""

    first_at: datetime
    last_at: datetime
    calls: int = 0
    denied: int = 0
    routes: Counter[str] = field(default_factory=Counter)

    def count(self, route: str, at: datetime, *, allowed: bool) -> None:
        self.calls += 1
        self.denied += not allowed
        self.last_at = at
        self.routes[route] += 1

    def summary(self) -> dict[str, Any]:
        """The tally as the fields of a :class:`CallSummary`."""
        return {
            "calls": self.calls,
            "denied": self.denied,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "routes": dict(sorted(self.routes.items())),
        }


class TokenUsage:
    """Counts API calls per token; :meth:`flush` writes what was counted to the audit trail.

    Safe to call from any thread (request handlers run in a thread pool)."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tallies: dict[str, tuple[Principal, _Tally]] = {}
        self._rejected: _Tally | None = None

    def record(
        self, principal: Principal, route: str, *, allowed: bool, at: datetime | None = None
    ) -> None:
        """A call by ``principal`` on ``route`` (``METHOD /path template``) at ``at`` (None:
        the clock's now); ``allowed``: the permission map let it through."""
        now = self._clock.now() if at is None else at
        with self._lock:
            entry = self._tallies.get(principal.token_id)
            if entry is None:
                entry = self._tallies[principal.token_id] = (principal, _Tally(now, now))
            entry[1].count(route, now, allowed=allowed)

    def record_rejected(self, route: str) -> None:
        """A call whose bearer token resolved to nobody."""
        now = self._clock.now()
        with self._lock:
            if self._rejected is None:
                self._rejected = _Tally(now, now)
            self._rejected.count(route, now, allowed=False)

    @property
    def pending(self) -> int:
        """Records the next flush would write."""
        with self._lock:
            return len(self._tallies) + (self._rejected is not None)

    def flush(self, *, uow: Callable[[], UnitOfWork]) -> int:
        """Write one record per token (and one for rejected tokens) counted since the last
        flush; returns how many. Counting goes on meanwhile; a write that fails puts its counts
        back for the next flush, so nothing counted is lost to a passing database error."""
        with self._lock:
            tallies, self._tallies = self._tallies, {}
            rejected, self._rejected = self._rejected, None
        messages = list(_messages(tallies, rejected))
        written = 0
        try:
            for start in range(0, len(messages), RECORDS_PER_COMMIT):
                with uow() as unit:
                    for message in messages[start : start + RECORDS_PER_COMMIT]:
                        unit.emit(message)
                        _touch(unit.session, message)
                    unit.commit()
                written += min(RECORDS_PER_COMMIT, len(messages) - start)
        except Exception:
            self._put_back(messages[written:], tallies, rejected)
            raise
        return written

    def _put_back(
        self,
        unwritten: list[Message[TokenUsed | TokenRejected]],
        tallies: dict[str, tuple[Principal, _Tally]],
        rejected: _Tally | None,
    ) -> None:
        with self._lock:
            for message in unwritten:
                fact = message.fact
                if isinstance(fact, TokenRejected):
                    assert rejected is not None
                    self._rejected = _merged(rejected, self._rejected)
                    continue
                principal, tally = tallies[fact.token_id]
                newer = self._tallies.get(principal.token_id)
                self._tallies[principal.token_id] = (
                    principal,
                    _merged(tally, newer[1] if newer else None),
                )


def _touch(session: Session, message: Message[TokenUsed | TokenRejected]) -> None:
    """Move the token's ``last_used_at`` forward to the summary's last call (never back: two
    API processes may write their summaries out of order)."""
    fact = message.fact
    if not isinstance(fact, TokenUsed):
        return
    last = fact.last_at
    session.execute(
        update(TokenRow)
        .where(
            TokenRow.token_id == fact.token_id,
            or_(TokenRow.last_used_at.is_(None), TokenRow.last_used_at < last),
        )
        .values(last_used_at=last)
    )


def _merged(older: _Tally, newer: _Tally | None) -> _Tally:
    if newer is None:
        return older
    return _Tally(
        first_at=older.first_at,
        last_at=newer.last_at,
        calls=older.calls + newer.calls,
        denied=older.denied + newer.denied,
        routes=older.routes + newer.routes,
    )


def _messages(
    tallies: dict[str, tuple[Principal, _Tally]], rejected: _Tally | None
) -> Iterator[Message[TokenUsed | TokenRejected]]:
    for token_id, (principal, tally) in sorted(tallies.items()):
        yield Message(
            TokenUsed(
                subject=f"token:{token_id}",
                token_id=token_id,
                kind=principal.kind,
                role=principal.role,
                operator_id=principal.operator_id,
                borrower_id=principal.borrower_id,
                **tally.summary(),
            )
        )
    if rejected is not None:
        yield Message(TokenRejected(subject="token:unresolved", **rejected.summary()))
