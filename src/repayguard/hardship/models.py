"""The hardship case table: a borrower's request for relief while their circumstances are hard
(G5), its SLA and how a cs_agent closed it. What the borrower is told is a notice (notices)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import CheckConstraint, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime

OPEN: Final = "open"
GRANTED: Final = "granted"
DECLINED: Final = "declined"
WITHDRAWN: Final = "withdrawn"
OUTCOMES: Final = (GRANTED, DECLINED, WITHDRAWN)
STATUSES: Final = (OPEN, *OUTCOMES)
DUE_SOON: Final = "due_soon"
OVERDUE: Final = "overdue"
ESCALATIONS: Final = (DUE_SOON, OVERDUE)
REASONS: Final = ("job_loss", "illness", "natural_disaster", "family_emergency", "other")
"""Why the borrower asks for relief: the small vocabulary notices and reports word."""


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class HardshipCaseRow(Base):
    """A hardship case. ``evidence_enc`` (what the borrower or agent says of the hardship) and
    ``note_enc`` (the reviewer's note, once closed) are personal data, sealed per row like
    complaint statements under the key ``key_id``. ``due_at`` is the SLA deadline; the worker
    sets ``escalation`` as it nears and passes. ``opener_id`` is the operator who opened the
    case for the borrower (None when the borrower did): that operator never reviews it. The
    database refuses a second open case for a borrower."""

    __tablename__ = "hardship_cases"
    __table_args__ = (
        CheckConstraint(f"status IN ({_listed(STATUSES)})", name="known_status"),
        CheckConstraint(f"reason IN ({_listed(REASONS)})", name="known_reason"),
        CheckConstraint(
            f"escalation IS NULL OR escalation IN ({_listed(ESCALATIONS)})",
            name="known_escalation",
        ),
        CheckConstraint("due_at > opened_at", name="due_after_opening"),
        CheckConstraint(
            f"(status = '{OPEN}' AND closed_at IS NULL AND note_enc IS NULL) "
            f"OR (status IN ({_listed(OUTCOMES)}) AND closed_at IS NOT NULL "
            "AND note_enc IS NOT NULL)",
            name="closed_with_note",
        ),
        Index(
            "uq_hardship_cases_open_borrower",
            "borrower_id",
            unique=True,
            sqlite_where=text(f"status = '{OPEN}'"),
            postgresql_where=text(f"status = '{OPEN}'"),
        ),
        Index("ix_hardship_cases_status_due_at", "status", "due_at"),
        Index("ix_hardship_cases_borrower_opened", "borrower_id", "opened_at"),
    )

    case_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(24))
    evidence_enc: Mapped[str] = mapped_column(Text)
    note_enc: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(40), index=True)
    opened_by: Mapped[str] = mapped_column(String(120))
    opener_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(12))
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    escalation: Mapped[str | None] = mapped_column(String(12))
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    reviewer_id: Mapped[str | None] = mapped_column(String(32))
    reviewer_name: Mapped[str | None] = mapped_column(String(120))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
