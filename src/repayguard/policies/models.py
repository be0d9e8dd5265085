"""Policy tables: validated drafts, and immutable published versions with their content hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class PolicyDraftRow(Base):
    """A submitted policy that passed every static check; publishable once."""

    __tablename__ = "policy_drafts"

    draft_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    submitted_by: Mapped[str] = mapped_column(String(120))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    published_version: Mapped[int | None] = mapped_column(Integer)


class PolicyVersionRow(Base):
    """A published policy version: never updated. ``document`` is the canonical policy with its
    version number; ``content_hash`` is the sha256 of its canonical JSON; ``source`` is the YAML
    as the author wrote it (comments included)."""

    __tablename__ = "policy_versions"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(Text)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    jurisdiction: Mapped[str] = mapped_column(String(8))
    hit_policy: Mapped[str] = mapped_column(String(16))
    rows: Mapped[int] = mapped_column(Integer)
    draft_id: Mapped[str] = mapped_column(String(32))
    published_by: Mapped[str] = mapped_column(String(120))
    published_at: Mapped[datetime] = mapped_column(UtcDateTime)
