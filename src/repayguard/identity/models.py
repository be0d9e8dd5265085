"""Identity tables: operators (people with a role), their passwords and API tokens (hashed)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class OperatorRow(Base):
    """A person who works in repayguard: analyst, approver, agent, auditor or admin."""

    __tablename__ = "operators"

    operator_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class TokenRow(Base):
    """An API token: only its sha256 is stored; the secret is shown once, at creation.

    ``kind`` says whose it is: an operator's (acts with the operator's role), a service's (the
    lender's apps: authorize and ingest) or a borrower's (that borrower's own data only).
    """

    __tablename__ = "api_tokens"

    token_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    operator_id: Mapped[str | None] = mapped_column(ForeignKey("operators.operator_id"))
    borrower_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """The last API call counted for the token, as of the latest token-use summary."""


class CredentialRow(Base):
    """An operator's password (argon2id hash) and the state of failed logins.

    Kept apart from ``operators`` so that reading an operator never loads a password hash.
    """

    __tablename__ = "operator_credentials"

    operator_id: Mapped[str] = mapped_column(ForeignKey("operators.operator_id"), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
