"""Notice tables: what each borrower was told, its delivery per channel, what notices saw last."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class NoticeRow(Base):
    """One notice as the borrower received it: rendered in their locale, with the structured
    facts it states (changes, reasons, what would change the outcome). Never updated.

    A notice about a change of methods names its decision and rule; one per (borrower,
    decision, rule, kind): an explanation asked for twice — once when a change is written
    already in force, once by the scheduler that activates it — exists once. A notice about
    another occasion (a complaint received or resolved) names it in ``occasion_id``; one per
    (borrower, occasion, kind).
    """

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint(
            "borrower_id", "decision_id", "rule_id", "kind", name="uq_notices_occasion"
        ),
        UniqueConstraint("borrower_id", "occasion_id", "kind", name="uq_notices_kind_occasion"),
        CheckConstraint(
            "occasion_id IS NOT NULL OR (decision_id IS NOT NULL AND rule_id IS NOT NULL)",
            name="change_or_occasion",
        ),
        Index("ix_notices_borrower_created", "borrower_id", "created_at"),
    )

    notice_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    decision_id: Mapped[str | None] = mapped_column(String(32))
    """The decision the notice is about (a change's decision; an occasion's, if it has one)."""
    rule_id: Mapped[str | None] = mapped_column(String(64))
    occasion_id: Mapped[str | None] = mapped_column(String(64))
    """What a notice not about a change of methods is about (a complaint's id)."""
    locale: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    what_would_change: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    effective_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NoticeDeliveryRow(Base):
    """The delivery of one notice through one channel: a per-channel outbox row.

    ``pending`` until a channel accepts it (``delivered``) or ``max_attempts`` ran out
    (``failed``). ``next_attempt_at`` is when a dispatcher may try it; a dispatcher claims a
    row by writing its ``claim_token`` and pushing ``next_attempt_at`` forward in one
    conditional UPDATE, so two dispatchers never send the same row at once.
    """

    __tablename__ = "notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "channel", name="uq_notice_deliveries_notice_channel"),
        Index("ix_notice_deliveries_due", "status", "next_attempt_at"),
    )

    delivery_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    notice_id: Mapped[str] = mapped_column(ForeignKey("notices.notice_id"))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    claim_token: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class NoticeBaselineRow(Base):
    """The last entitlement notices saw for a borrower (the payload of the message), so the
    next change is compared with what the borrower had — and had been told — before it.

    Borrowers who never left the policy's default states have no row."""

    __tablename__ = "notice_baselines"

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    entitlement: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
