"""Entitlement table: each borrower's current repayment-method states and where they came from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, SmallInteger, String
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
