"""Password login for operators: argon2id hashes, lockout after failed attempts, sessions.

A session is an operator API token with a short lifetime (``security.session_hours``), so the
one token resolver and the one permission map serve people logged in through the console and
scripts alike; logging out revokes that token. Failed logins are counted per operator: after
``MAX_FAILURES`` in a row, password login pauses for ``LOCKOUT`` (API tokens keep working, so
an attacker guessing passwords cannot lock an operator out of their scripts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select

from repayguard.audit import acting_as
from repayguard.identity.errors import LoginFailed, LoginLocked, PasswordRejected
from repayguard.identity.messages import LoginAttemptFailed, PasswordSet, SessionStarted
from repayguard.identity.models import CredentialRow, OperatorRow
from repayguard.identity.service import (
    CreateToken,
    IssuedToken,
    OperatorRead,
    find_operator,
    issue_token,
)
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

MIN_LENGTH: Final = 12
MAX_LENGTH: Final = 256
MAX_FAILURES: Final = 5
LOCKOUT: Final = timedelta(minutes=15)

_WRONG = "the username or password is wrong"


@dataclass(frozen=True, slots=True)
class SetPassword:
    username: str
    password: str


@dataclass(frozen=True, slots=True)
class LogIn:
    username: str
    password: str
    lifetime: timedelta = timedelta(hours=8)


@dataclass(frozen=True, slots=True)
class LoggedIn:
    """A new session: ``token.secret`` is the bearer token, shown this once."""

    token: IssuedToken
    operator: OperatorRead


def _hasher() -> PasswordHasher:
    """argon2id with the library's current recommended parameters (RFC 9106 low-memory)."""
    return PasswordHasher()


def check_password_rules(username: str, password: str) -> None:
    """Raise PasswordRejected naming every rule the password breaks."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"it has {len(password)} characters; use at least {MIN_LENGTH}")
    if len(password) > MAX_LENGTH:
        problems.append(f"it is longer than {MAX_LENGTH} characters")
    if password.strip().lower() == username.strip().lower():
        problems.append("it is the username")
    if problems:
        raise PasswordRejected(
            "the password is not accepted: " + "; ".join(problems),
            hint="a passphrase of several unrelated words is long and easy to remember",
        )


def set_password(cmd: SetPassword, *, uow: UnitOfWork) -> OperatorRead:
    """Set (or replace) an operator's password; clears any lockout."""
    check_password_rules(cmd.username, cmd.password)
    hashed = _hasher().hash(cmd.password)
    with uow:
        session = uow.session
        operator = find_operator(session, username=cmd.username)
        row = session.get(CredentialRow, operator.operator_id)
        now = uow.clock.now()
        if row is None:
            row = CredentialRow(operator_id=operator.operator_id)
            session.add(row)
        row.password_hash, row.changed_at = hashed, now
        row.failed_attempts, row.locked_until = 0, None
        uow.emit(Message(PasswordSet(operator_id=operator.operator_id)))
        uow.commit()
    return operator


def log_in(cmd: LogIn, *, uow: UnitOfWork) -> LoggedIn:
    """Check the password and open a session; every refusal says the same thing.

    A failed attempt is committed before the refusal is raised, so the count survives it.
    """
    hasher = _hasher()
    with uow:
        session = uow.session
        now = uow.clock.now()
        found = session.execute(
            select(OperatorRow, CredentialRow)
            .join(CredentialRow, CredentialRow.operator_id == OperatorRow.operator_id)
            .where(OperatorRow.username == cmd.username)
        ).one_or_none()
        if found is None:
            _spend_equal_time(hasher, cmd.password)
            raise LoginFailed(_WRONG)
        operator, credential = found
        if credential.locked_until is not None and credential.locked_until > now:
            raise LoginLocked(
                "password login is paused after repeated failures",
                hint=f"try again after {_at(credential.locked_until)}, or ask an admin to "
                "set a new password ('repayguard user password')",
            )
        if not _verifies(hasher, credential.password_hash, cmd.password):
            _count_failure(credential, now)
            uow.emit(
                Message(
                    LoginAttemptFailed(
                        operator_id=operator.operator_id, failures=credential.failed_attempts
                    )
                )
            )
            uow.commit()
            raise LoginFailed(_WRONG)
        if not operator.active:
            raise LoginFailed(_WRONG)
        credential.failed_attempts, credential.locked_until = 0, None
        if hasher.check_needs_rehash(credential.password_hash):
            credential.password_hash = hasher.hash(cmd.password)
        token = issue_token(
            CreateToken("operator", operator.username, lifetime=cmd.lifetime), uow=uow
        )
        uow.emit(Message(SessionStarted(operator_id=operator.operator_id, token_id=token.token_id)))
        with acting_as(f"operator:{operator.operator_id}"):  # who opened it, now known
            uow.commit()
        return LoggedIn(token, find_operator(session, operator_id=operator.operator_id))


def _verifies(hasher: PasswordHasher, stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _count_failure(credential: CredentialRow, now: datetime) -> None:
    credential.failed_attempts += 1
    if credential.failed_attempts >= MAX_FAILURES:
        credential.locked_until = now + LOCKOUT
        credential.failed_attempts = 0


def _spend_equal_time(hasher: PasswordHasher, password: str) -> None:
    """Hash anyway for an unknown username, so timing does not tell which usernames exist."""
    hasher.hash(password)


def _at(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
