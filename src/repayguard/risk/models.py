"""Tables of the model registry: registered model versions and every change of their state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class ModelVersionRow(Base):
    """One registered model version. Its files live under the data directory; the sha256 of
    its model card (which lists the sha256 of every other file) is pinned here."""

    __tablename__ = "model_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(120))
    source: Mapped[str] = mapped_column(String(300))
    target: Mapped[str] = mapped_column(String(300))
    training_from: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    training_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    card_sha256: Mapped[str] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    promoted_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    promoted_by: Mapped[str | None] = mapped_column(String(120), nullable=True)


class ModelPromotionRow(Base):
    """A state change of a model version: who, when, from which state to which, and why."""

    __tablename__ = "model_promotions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(
        String(64), ForeignKey("model_versions.version"), index=True
    )
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    note: Mapped[str] = mapped_column(String(500))
