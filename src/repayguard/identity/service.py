"""Identity use-cases: operators, tokens, and resolving a presented token to a principal."""

from __future__ import annotations

import hashlib
import secrets
import threading
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repayguard.errors import InvalidInput, NotFound, PermissionDenied
from repayguard.identity.errors import OperatorExists, OperatorRequired, TokenInvalid
from repayguard.identity.messages import (
    OperatorAdded,
    OperatorDisabled,
    TokenCreated,
    TokenRevoked,
)
from repayguard.identity.models import OperatorRow, TokenRow
from repayguard.identity.permissions import ROLES, Kind, Principal, Role, role_allows
from repayguard.platform.clock import Clock
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

TOKEN_PREFIX: Final = "rg"


@dataclass(frozen=True, slots=True)
class AddOperator:
    username: str
    role: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class DisableOperator:
    username: str


@dataclass(frozen=True, slots=True)
class CreateToken:
    """A token for an operator (``subject`` = username), a service (``subject`` = the app's
    name) or a borrower (``subject`` = borrower id); it expires after ``days`` if given."""

    kind: Kind
    subject: str
    days: int | None = None
    lifetime: timedelta | None = None  # finer than days: a login session's hours


@dataclass(frozen=True, slots=True)
class RevokeToken:
    token_id: str


@dataclass(frozen=True, slots=True)
class OperatorRead:
    operator_id: str
    username: str
    display_name: str
    role: str
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: ``secret`` is the whole token, shown this once and never stored."""

    token_id: str
    secret: str
    kind: str
    name: str
    expires_at: datetime | None


def _hash(secret: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough (no password stretching needed).
    return hashlib.sha256(secret.encode()).hexdigest()


def add_operator(cmd: AddOperator, *, uow: UnitOfWork) -> OperatorRead:
    if cmd.role not in ROLES:
        raise InvalidInput(f"unknown role {cmd.role!r}", hint=f"choose one of: {', '.join(ROLES)}")
    with uow:
        session = uow.session
        if session.scalar(select(OperatorRow).where(OperatorRow.username == cmd.username)):
            raise OperatorExists(f"an operator named {cmd.username!r} already exists")
        row = OperatorRow(
            operator_id=uuid.uuid4().hex,
            username=cmd.username,
            display_name=cmd.display_name or cmd.username,
            role=cmd.role,
            active=True,
            created_at=uow.clock.now(),
        )
        session.add(row)
        uow.emit(
            Message(
                OperatorAdded(operator_id=row.operator_id, username=row.username, role=row.role)
            )
        )
        uow.commit()
        return _operator(row)


def disable_operator(
    cmd: DisableOperator, *, uow: UnitOfWork, tokens: TokenResolver | None
) -> OperatorRead:
    """Disable an operator and revoke every token they hold: refused at once by this process
    (``tokens``, its cache; None where none is kept), by the others when the
    ``repayguard.operator.disabled`` message reaches them."""
    with uow:
        session = uow.session
        row = _find_operator(session, cmd.username)
        now = uow.clock.now()
        row.active = False
        row.disabled_at = now
        for token in session.scalars(
            select(TokenRow).where(
                TokenRow.operator_id == row.operator_id, TokenRow.revoked_at.is_(None)
            )
        ):
            token.revoked_at = now
        uow.emit(Message(OperatorDisabled(operator_id=row.operator_id)))
        uow.commit()
        if tokens is not None:
            tokens.forget(operator_ids={row.operator_id})
        return _operator(row)


def list_operators(session: Session) -> list[OperatorRead]:
    return [
        _operator(r) for r in session.scalars(select(OperatorRow).order_by(OperatorRow.username))
    ]


def create_token(cmd: CreateToken, *, uow: UnitOfWork) -> IssuedToken:
    with uow:
        issued = issue_token(cmd, uow=uow)
        uow.commit()
    return issued


def issue_token(cmd: CreateToken, *, uow: UnitOfWork) -> IssuedToken:
    """Add a token inside the caller's open unit of work (the caller commits)."""
    token_id = secrets.token_hex(6)
    secret = f"{TOKEN_PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"
    session = uow.session
    now = uow.clock.now()
    operator_id = borrower_id = None
    if cmd.kind == "operator":
        operator = _find_operator(session, cmd.subject)
        if not operator.active:
            raise InvalidInput(f"operator {cmd.subject!r} is disabled")
        operator_id = operator.operator_id
    elif cmd.kind == "borrower":
        borrower_id = cmd.subject
    lifetime = cmd.lifetime or (timedelta(days=cmd.days) if cmd.days else None)
    expires_at = now + lifetime if lifetime else None
    session.add(
        TokenRow(
            token_id=token_id,
            token_hash=_hash(secret),
            kind=cmd.kind,
            name=cmd.subject,
            operator_id=operator_id,
            borrower_id=borrower_id,
            created_at=now,
            expires_at=expires_at,
        )
    )
    uow.emit(Message(TokenCreated(token_id=token_id, kind=cmd.kind, operator_id=operator_id)))
    return IssuedToken(token_id, secret, cmd.kind, cmd.subject, expires_at)


def revoke_token(cmd: RevokeToken, *, uow: UnitOfWork, tokens: TokenResolver | None) -> None:
    """Revoke a token (an API token, or a login session at logout): refused by this process
    from the next call on (``tokens``, its cache, is told after the commit, not through the
    relay, which may be busy with earlier messages), by the others when the
    ``repayguard.token.revoked`` message reaches them."""
    with uow:
        row = uow.session.get(TokenRow, cmd.token_id)
        if row is None:
            raise NotFound(f"no token with id {cmd.token_id!r}", hint="see 'repayguard token list'")
        row.revoked_at = row.revoked_at or uow.clock.now()
        uow.emit(Message(TokenRevoked(token_id=cmd.token_id)))
        uow.commit()
    if tokens is not None:
        tokens.forget(token_ids={cmd.token_id})


def list_tokens(session: Session) -> list[TokenRow]:
    return list(session.scalars(select(TokenRow).order_by(TokenRow.created_at)))


def find_operator(
    session: Session, *, operator_id: str | None = None, username: str | None = None
) -> OperatorRead:
    """One operator by id or by username (exactly one given); NotFound when there is none."""
    if (operator_id is None) == (username is None):
        raise ValueError("give exactly one of operator_id and username")
    if username is not None:
        return _operator(_find_operator(session, username))
    row = session.get(OperatorRow, operator_id)
    if row is None:
        raise NotFound(f"no operator with id {operator_id!r}", hint="see 'repayguard user list'")
    return _operator(row)


def permitted_operator(
    session: Session, operator_id: str, *, permission: str, doing: str
) -> OperatorRead:
    """The acting operator, who must exist, be active and hold ``permission`` (``doing``
    words the refusal: "resolve incidents"). OperatorRequired when there is no such operator,
    PermissionDenied when they are disabled or their role does not hold it."""
    try:
        found = find_operator(session, operator_id=operator_id)
    except NotFound as exc:
        raise OperatorRequired(
            f"no operator with id {operator_id!r} can {doing}",
            hint="act as an operator: an operator token, or --as USERNAME",
        ) from exc
    if not found.active:
        raise PermissionDenied(f"operator {found.username} is disabled")
    if not role_allows(found.role, permission):
        raise PermissionDenied(f"role {found.role} may not {doing}")
    return found


def operator_named(session: Session, name: str) -> OperatorRead:
    """The operator a person meant by ``name`` ("pat", " pat", "PAT"): surrounding spaces
    ignored, the exact username first, else the only one equal to it ignoring case. NotFound
    when none (or several) match: a name recorded as an actor must be a real operator."""
    wanted = name.strip()
    exact = session.scalar(select(OperatorRow).where(OperatorRow.username == wanted))
    if exact is not None:
        return _operator(exact)
    alike = session.scalars(
        select(OperatorRow).where(func.lower(OperatorRow.username) == wanted.lower())
    ).all()
    if len(alike) != 1:
        raise NotFound(f"no operator named {wanted!r}", hint="see 'repayguard user list'")
    return _operator(alike[0])


def _find_operator(session: Session, username: str) -> OperatorRow:
    row = session.scalar(select(OperatorRow).where(OperatorRow.username == username))
    if row is None:
        raise NotFound(f"no operator named {username!r}", hint="see 'repayguard user list'")
    return row


def _operator(row: OperatorRow) -> OperatorRead:
    return OperatorRead(
        row.operator_id, row.username, row.display_name, row.role, row.active, row.created_at
    )


class TokenResolver:
    """Turns a presented bearer token into a principal, caching answers for a short while.

    The authorize path must not hit the database per request. An answer is trusted until
    ``ttl`` after it was read or until the token's own ``expires_at``, whichever comes first,
    so an expired token is refused the moment it expires. A revocation is forgotten at once
    in the process that committed it (the use-case calls ``forget``) and in every other
    process when the followed message arrives (``on_revoked``); only the affected tokens are
    dropped, so a revocation under load does not send every cached caller to the database.
    """

    def __init__(
        self, session_factory: sessionmaker[Session], *, clock: Clock, ttl: timedelta
    ) -> None:
        self._session_factory = session_factory
        self._clock = clock
        self._ttl = ttl
        self._cache: dict[str, tuple[datetime, Principal | None]] = {}
        self._lock = threading.Lock()
        # Bumped by every forget: an answer read from the database before a revocation
        # committed must not be cached after the revocation was forgotten.
        self._generation = 0

    def resolve(self, secret: str) -> Principal:
        key = _hash(secret)
        now = self._clock.now()
        cached = self._cache.get(key)
        if cached is not None and cached[0] > now:
            principal = cached[1]
        else:
            generation = self._generation
            principal, until = self._load(key, now)
            with self._lock:
                if generation == self._generation:
                    if len(self._cache) > 100_000:
                        self._cache.clear()
                    self._cache[key] = (until, principal)
        if principal is None:
            raise TokenInvalid(
                "the token is unknown, revoked or expired",
                hint="ask an admin for a token: 'repayguard token create'",
            )
        return principal

    def cached(self, secret: str, *, now: datetime | None = None) -> Principal | None:
        """The principal ``secret`` resolved to, if that answer is cached and fresh at
        ``now`` (None: the clock's now); None when it is not, or when it resolved to nobody
        (the caller then takes the full path, which looks it up and reports the refusal).
        Never touches the database."""
        answer = self.cached_answer(secret, now=self._clock.now() if now is None else now)
        return answer[1] if answer is not None else None

    def cached_answer(self, secret: str, *, now: datetime) -> tuple[datetime, Principal] | None:
        """As :meth:`cached`, with the moment the answer stops being fresh: a caller may hold
        the answer until then, as long as :attr:`generation` has not moved (no token was
        forgotten meanwhile)."""
        cached = self._cache.get(_hash(secret))
        if cached is not None and cached[0] > now and cached[1] is not None:
            return cached[0], cached[1]
        return None

    @property
    def generation(self) -> int:
        """Bumped by every :meth:`forget` and :meth:`forget_all`: an answer taken from this
        cache before the number moved may be a revoked token's."""
        return self._generation

    def forget(
        self, *, token_ids: Collection[str] = (), operator_ids: Collection[str] = ()
    ) -> None:
        """Drop the cached answers for these tokens and for every token of these operators
        (the next call with one of them reads the database)."""
        with self._lock:
            self._generation += 1
            if not token_ids and not operator_ids:
                return
            stale = [
                key
                for key, (_, principal) in self._cache.items()
                if principal is not None
                and (principal.token_id in token_ids or principal.operator_id in operator_ids)
            ]
            for key in stale:
                del self._cache[key]

    def on_revoked(self, message: Message[TokenRevoked | OperatorDisabled]) -> None:
        """Follow handler for ``repayguard.token.revoked`` / ``repayguard.operator.disabled``:
        forget the token, or every token of the operator."""
        fact = message.fact
        if isinstance(fact, TokenRevoked):
            self.forget(token_ids={fact.token_id})
        else:
            self.forget(operator_ids={fact.operator_id})

    def forget_all(self, _message: Message | None = None) -> None:
        """Drop every cached answer."""
        with self._lock:
            self._generation += 1
            self._cache.clear()

    def _load(self, key: str, now: datetime) -> tuple[Principal | None, datetime]:
        """The principal of the token hashed to ``key`` (None: nobody) and until when that
        answer may be trusted."""
        until = now + self._ttl
        with self._session_factory() as session:
            token = session.scalar(select(TokenRow).where(TokenRow.token_hash == key))
            if token is None or token.revoked_at is not None:
                return None, until
            if token.expires_at is not None:
                if token.expires_at <= now:
                    return None, until
                until = min(until, token.expires_at)
            if token.kind == "operator":
                operator = session.get(OperatorRow, token.operator_id)
                if operator is None or not operator.active:
                    return None, until
                role: Role = operator.role  # type: ignore[assignment]
                principal = Principal(
                    "operator",
                    token.token_id,
                    role,
                    operator.operator_id,
                    username=operator.username,
                )
            elif token.kind == "borrower":
                principal = Principal("borrower", token.token_id, borrower_id=token.borrower_id)
            else:
                principal = Principal("service", token.token_id)
            return principal, until
