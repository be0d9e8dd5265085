"""Remedy table: what repayguard owes a borrower for a restriction that was reversed, and what
became of each remedy (approved, exported to the lender's ledger)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime

FEE_REFUND: Final = "fee_refund"
EARLY_REPAYMENT_REFUND: Final = "early_repayment_refund"
BUREAU_CORRECTION: Final = "bureau_correction"
APOLOGY: Final = "apology"
KINDS: Final = (FEE_REFUND, EARLY_REPAYMENT_REFUND, BUREAU_CORRECTION, APOLOGY)

AWAITING_APPROVAL: Final = "awaiting_approval"
APPROVED: Final = "approved"
REJECTED: Final = "rejected"
STATES: Final = (AWAITING_APPROVAL, APPROVED, REJECTED)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class RemedyRow(Base):
    """One remedy recorded when complaint ``complaint_id`` reversed decision ``decision_id``.

    ``amount_minor`` is in the currency's minor unit (fen, cents), so amounts add up exactly;
    ``basis`` is how it was computed (the events counted, the rates used). A remedy above the
    auto-approval amount waits for the approval request ``approval_id``; ``maker_id`` is the
    operator who resolved the case (never its checker). An approved remedy other than the
    apology (a notice) is due for the lender's ledger at ``next_export_at``; ``exported_at``:
    when the ledger acknowledged it; failed attempts are counted, with the last error. One
    remedy of each kind per case.
    """

    __tablename__ = "remedies"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_listed(KINDS)})", name="known_kind"),
        CheckConstraint(f"state IN ({_listed(STATES)})", name="known_state"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
        UniqueConstraint("complaint_id", "kind", name="uq_remedies_complaint_kind"),
        Index("ix_remedies_borrower_id", "borrower_id"),
        Index("ix_remedies_next_export_at", "next_export_at"),
    )

    remedy_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    complaint_id: Mapped[str] = mapped_column(String(32))
    borrower_id: Mapped[str] = mapped_column(String(64))
    decision_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    basis: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(20))
    maker_id: Mapped[str | None] = mapped_column(String(32))
    maker_name: Mapped[str] = mapped_column(String(120))
    approval_id: Mapped[str | None] = mapped_column(String(32))
    decided_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_export_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    exported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    export_attempts: Mapped[int] = mapped_column(Integer, default=0)
    export_error: Mapped[str | None] = mapped_column(Text)
