"""Playbook and overlay tables: emergency playbooks by version, and the overlays armed from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime

DRAFT: Final = "draft"
APPROVED: Final = "approved"
ARMED: Final = "armed"
REVIEWED: Final = "reviewed"
LIFTED: Final = "lifted"
EXPIRED: Final = "expired"
LAPSED: Final = "lapsed"
ACTIVE: Final = (ARMED, REVIEWED)
"""States in which an overlay tightens its segment."""
OVERLAY_STATES: Final = (ARMED, REVIEWED, LIFTED, EXPIRED, LAPSED)


class PlaybookRow(Base):
    """One version of a playbook: its canonical document, pinned by hash; a draft until a
    second person approves it (``playbook_approve``), and only approved ones can be armed."""

    __tablename__ = "playbooks"
    __table_args__ = (CheckConstraint("state IN ('draft', 'approved')", name="known_state"),)

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(12))
    submitted_by: Mapped[str] = mapped_column(String(120))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    approved_by: Mapped[str | None] = mapped_column(String(120))
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OverlayRow(Base):
    """An overlay armed from an approved playbook, and what became of it:
    armed -> reviewed -> lifted | expired | lapsed (lapsed: not reviewed by ``review_due_at``)."""

    __tablename__ = "overlays"
    __table_args__ = (
        CheckConstraint(
            "state IN ('armed', 'reviewed', 'lifted', 'expired', 'lapsed')", name="known_state"
        ),
        CheckConstraint("expires_at > armed_at", name="expires_after_arming"),
        Index("ix_overlays_state_expires_at", "state", "expires_at"),
        UniqueConstraint("incident_id", "playbook_name", name="uq_overlays_incident_playbook"),
    )

    overlay_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    playbook_name: Mapped[str] = mapped_column(String(64))
    playbook_version: Mapped[int] = mapped_column(Integer)
    playbook_hash: Mapped[str] = mapped_column(String(64))
    armed_by: Mapped[str] = mapped_column(String(120))
    """An operator's name, or ``incident:<id>`` when a detector's incident armed it."""
    armed_by_id: Mapped[str | None] = mapped_column(String(32))
    """The arming operator's id (None when an incident armed it): never its reviewer."""
    incident_id: Mapped[str | None] = mapped_column(String(64))
    armed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    review_due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(12), index=True)
    reason: Mapped[str] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(120))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lifted_by: Mapped[str | None] = mapped_column(String(120))
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
