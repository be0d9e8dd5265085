"""Approval table: maker-checker requests, with the rules the database itself enforces."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final, Literal, get_args

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime

Kind = Literal[
    "policy_publish",
    "model_promote",
    "override",
    "decision",
    "emergency_review",
    "remedy",
    "playbook_approve",
]
KINDS: Final = get_args(Kind)
PENDING: Final = "pending"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
WITHDRAWN: Final = "withdrawn"
EXPIRED: Final = "expired"
STATES: Final = (PENDING, APPROVED, REJECTED, WITHDRAWN, EXPIRED)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ApprovalRequestRow(Base):
    """One request for a second person's approval, and what became of it.

    ``payload`` is exactly what approval applies; ``payload_sha256`` pins it at submission.
    ``maker_id`` is the operator who asked (None: repayguard itself, e.g. a decision held for
    approval); ``checker_id`` the one who approved or rejected. The database refuses a checker
    who is the maker, a decided request without a checker, and a second pending request about
    the same subject; triggers (migration 0006) refuse edits of anything but a pending
    request's outcome, and deletions.
    """

    __tablename__ = "approval_requests"

    request_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    subject: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    payload_sha256: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    maker_id: Mapped[str | None] = mapped_column(ForeignKey("operators.operator_id"))
    maker_name: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    checker_id: Mapped[str | None] = mapped_column(ForeignKey("operators.operator_id"))
    checker_name: Mapped[str | None] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What applying the approved payload did (the version published, the entitlement set)."""

    __table_args__ = (
        CheckConstraint("checker_id <> maker_id", name="checker_not_maker"),
        CheckConstraint(
            f"state NOT IN ({_listed((APPROVED, REJECTED))}) OR checker_id IS NOT NULL",
            name="decided_by_checker",
        ),
        CheckConstraint(
            f"(state = '{PENDING}' AND decided_at IS NULL) "
            f"OR (state <> '{PENDING}' AND decided_at IS NOT NULL)",
            name="decided_at_when_decided",
        ),
        CheckConstraint(f"kind IN ({_listed(KINDS)})", name="known_kind"),
        CheckConstraint(f"state IN ({_listed(STATES)})", name="known_state"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        Index(
            "uq_approval_requests_pending_subject",
            "kind",
            "subject",
            unique=True,
            sqlite_where=text(f"state = '{PENDING}'"),
            postgresql_where=text(f"state = '{PENDING}'"),
        ),
        Index("ix_approval_requests_state_expires_at", "state", "expires_at"),
        Index("ix_approval_requests_created_at", "created_at"),
    )
