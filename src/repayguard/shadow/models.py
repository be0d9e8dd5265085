"""The challenger setting: which policy shadow mode evaluates beside production (one row)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class ChallengerRow(Base):
    """The challenger in effect (``slot`` is always ``challenger``): a published version or a
    stored draft, pinned by its content hash. No row: shadow mode is off."""

    __tablename__ = "shadow_challenger"

    slot: Mapped[str] = mapped_column(String(16), primary_key=True)
    policy_name: Mapped[str] = mapped_column(String(100))
    policy_version: Mapped[int | None] = mapped_column(Integer)
    draft_id: Mapped[str | None] = mapped_column(String(32))
    content_hash: Mapped[str] = mapped_column(String(64))
    set_by: Mapped[str] = mapped_column(String(120))
    set_at: Mapped[datetime] = mapped_column(UtcDateTime)
