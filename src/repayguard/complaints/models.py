"""Complaint tables: each case against a decision and its outcome as a training label (what the
borrower is told about a case is a notice, kept by the notices package)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime

OPEN: Final = "open"
REVERSAL_PENDING: Final = "reversal_pending"
UPHELD: Final = "upheld"
REVERSED: Final = "reversed"
STATUSES: Final = (OPEN, REVERSAL_PENDING, UPHELD, REVERSED)
ACTIVE: Final = (OPEN, REVERSAL_PENDING)
"""A case is active (the borrower's appeal is open) until it is upheld or reversed."""
OUTCOMES: Final = (UPHELD, REVERSED)
DUE_SOON: Final = "due_soon"
OVERDUE: Final = "overdue"
ESCALATIONS: Final = (DUE_SOON, OVERDUE)
CONTESTABLE: Final = ("auto_debit", "early_repayment", "manual", "manual_channels")
"""What a borrower may contest: a method's state, or the channels left for repaying by hand."""


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class ComplaintRow(Base):
    """A borrower's complaint against one decision, and how it was resolved.

    ``statement_enc`` is the borrower's own words, encrypted like profile fields (AES-GCM,
    bound to this row; ``key_id`` names the key). ``due_at`` is the SLA deadline; the worker
    sets ``escalation`` (``due_soon``, then ``overdue``) as it nears and passes. A reversal
    waits in ``reversal_pending`` for the manual override request ``approval_id``; the case is
    ``reversed`` once a second person approved it. The database refuses a second active case
    about the same decision.
    """

    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint(f"status IN ({_listed(STATUSES)})", name="known_status"),
        CheckConstraint(
            f"escalation IS NULL OR escalation IN ({_listed(ESCALATIONS)})",
            name="known_escalation",
        ),
        CheckConstraint("due_at > filed_at", name="due_after_filing"),
        CheckConstraint(
            f"(status IN ({_listed(ACTIVE)}) AND resolved_at IS NULL) "
            f"OR (status IN ({_listed(OUTCOMES)}) AND resolved_at IS NOT NULL)",
            name="resolved_at_when_resolved",
        ),
        CheckConstraint(
            f"status NOT IN ('{REVERSAL_PENDING}', '{REVERSED}') OR approval_id IS NOT NULL",
            name="reversal_has_approval",
        ),
        Index(
            "uq_complaints_active_decision",
            "borrower_id",
            "decision_id",
            unique=True,
            sqlite_where=text(f"status IN ({_listed(ACTIVE)})"),
            postgresql_where=text(f"status IN ({_listed(ACTIVE)})"),
        ),
        Index("ix_complaints_status_due_at", "status", "due_at"),
        Index("ix_complaints_borrower_filed", "borrower_id", "filed_at"),
    )

    complaint_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(String(32))
    contested: Mapped[list[str]] = mapped_column(JSON)
    statement_enc: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    filed_by: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20))
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    escalation: Mapped[str | None] = mapped_column(String(12))
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewer_id: Mapped[str | None] = mapped_column(String(32))
    reviewer_name: Mapped[str | None] = mapped_column(String(120))
    comment: Mapped[str | None] = mapped_column(Text)
    approval_id: Mapped[str | None] = mapped_column(String(32), index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ComplaintLabelRow(Base):
    """The outcome of a resolved case as a label for model training: was the contested
    decision upheld or reversed by a person? Written once, when the case closes."""

    __tablename__ = "complaint_labels"
    __table_args__ = (
        CheckConstraint(f"outcome IN ({_listed(OUTCOMES)})", name="known_outcome"),
        Index("ix_complaint_labels_resolved_at", "resolved_at"),
    )

    complaint_id: Mapped[str] = mapped_column(
        ForeignKey("complaints.complaint_id"), primary_key=True
    )
    borrower_id: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(String(32))
    as_of: Mapped[datetime] = mapped_column(UtcDateTime)
    """When the contested decision was made (its features are point-in-time as of then)."""
    rule_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(12))
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime)
