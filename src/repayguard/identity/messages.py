"""The messages identity emits: operators, passwords, sessions, tokens (also audit actions).

Payloads name operators and tokens by id only: a username appears once, when the operator is
added, and secrets never travel.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from repayguard.platform.messages import Fact


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorAdded(Fact):
    NAME = "repayguard.operator.added"

    operator_id: str
    username: str
    role: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OperatorDisabled(Fact):
    """Every process drops the operator's cached tokens when it follows this."""

    NAME = "repayguard.operator.disabled"

    operator_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class PasswordSet(Fact):
    NAME = "repayguard.operator.password_set"

    operator_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginAttemptFailed(Fact):
    """A wrong password; ``failures`` counts towards the lockout."""

    NAME = "repayguard.login.failed"

    operator_id: str
    failures: int


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionStarted(Fact):
    NAME = "repayguard.session.started"

    operator_id: str
    token_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenCreated(Fact):
    NAME = "repayguard.token.created"

    token_id: str
    kind: str
    operator_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRevoked(Fact):
    """Every process drops the token from its cache when it follows this."""

    NAME = "repayguard.token.revoked"

    token_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallSummary(Fact):
    """Calls counted in one window: how many, how many refused, when, on which routes."""

    subject: str
    calls: int
    denied: int
    first_at: datetime
    last_at: datetime
    routes: dict[str, int]


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenUsed(CallSummary):
    """One token's calls in a window, and who it is (the audit trail pseudonymises borrowers)."""

    NAME = "repayguard.token.used"

    token_id: str
    kind: str
    role: str | None
    operator_id: str | None
    borrower_id: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRejected(CallSummary):
    """Calls whose token resolved to nobody (unknown, revoked, expired), summed per window."""

    NAME = "repayguard.token.rejected"


TOKEN_USED: Final = TokenUsed.NAME
TOKEN_REJECTED: Final = TokenRejected.NAME
