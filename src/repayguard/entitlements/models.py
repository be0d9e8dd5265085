"""Entitlement tables: each borrower's current method states and where they came from, the
manual overrides approved through maker-checker, and the open cases that pre-empt tightening."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class EntitlementRow(Base):
    """The method states a borrower has (or will have at ``effective_at``) and the deciding
    decision. Until ``effective_at`` the ``interim`` states apply: the loosened parts of the
    change at once, the tightened parts only after the advance-notice period."""

    __tablename__ = "entitlements"

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    loan_scope: Mapped[str] = mapped_column(String(64), primary_key=True, default="*")
    auto_debit: Mapped[str] = mapped_column(String(16))
    early_repayment: Mapped[str] = mapped_column(String(16))
    manual: Mapped[str] = mapped_column(String(16))
    manual_channels: Mapped[list[str]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    interim: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    review_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    decision_id: Mapped[str] = mapped_column(String(32))
    rule_id: Mapped[str] = mapped_column(String(64))
    tier: Mapped[int | None] = mapped_column(SmallInteger)
    tier_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class EntitlementOverrideRow(Base):
    """A manual override of a borrower's methods, applied after a second person approved it.

    The entitlement row holds the states in force; this row keeps who asked, who approved,
    why, and until when (never updated)."""

    __tablename__ = "entitlement_overrides"

    override_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    borrower_id: Mapped[str] = mapped_column(String(64), index=True)
    states: Mapped[dict[str, Any]] = mapped_column(JSON)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(120))
    approved_by: Mapped[str] = mapped_column(String(120))
    approval_id: Mapped[str] = mapped_column(String(32))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime)
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BorrowerFlagRow(Base):
    """A case standing open for a borrower that the policy sees as a boolean input (G5):
    ``open_appeal`` (a complaint against a decision), ``open_hardship``. The input is true
    while at least one row of that flag exists; the capability owning the case raises it when
    the case opens and lowers it when the case closes (``reference``: the case id)."""

    __tablename__ = "borrower_flags"
    __table_args__ = (
        CheckConstraint("flag IN ('open_appeal', 'open_hardship')", name="known_flag"),
    )

    borrower_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flag: Mapped[str] = mapped_column(String(16), primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
