"""Every query of the model registry; repositories never commit."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repayguard.risk.models import ModelPromotionRow, ModelVersionRow

CANDIDATE = "candidate"
PRODUCTION = "production"
RETIRED = "retired"
STATES = (CANDIDATE, PRODUCTION, RETIRED)


def get(session: Session, version: str) -> ModelVersionRow | None:
    return session.get(ModelVersionRow, version)


def get_for_update(session: Session, version: str) -> ModelVersionRow | None:
    """The row, locked until the transaction ends (PostgreSQL; SQLite locks on write)."""
    return session.scalars(
        select(ModelVersionRow).where(ModelVersionRow.version == version).with_for_update()
    ).first()


def production(session: Session, *, for_update: bool = False) -> ModelVersionRow | None:
    """The version in production, if any."""
    query = select(ModelVersionRow).where(ModelVersionRow.state == PRODUCTION)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def listed(session: Session, *, state: str | None = None) -> list[ModelVersionRow]:
    """Versions, newest first (optionally only those in ``state``)."""
    query = select(ModelVersionRow).order_by(
        ModelVersionRow.created_at.desc(), ModelVersionRow.version.desc()
    )
    if state is not None:
        query = query.where(ModelVersionRow.state == state)
    return list(session.scalars(query))


def count_of_kind(session: Session, kind: str) -> int:
    query = select(func.count()).select_from(ModelVersionRow).where(ModelVersionRow.kind == kind)
    return int(session.scalar(query) or 0)


def promotions(session: Session, version: str) -> list[ModelPromotionRow]:
    """State changes of a version, oldest first."""
    return list(
        session.scalars(
            select(ModelPromotionRow)
            .where(ModelPromotionRow.version == version)
            .order_by(ModelPromotionRow.id)
        )
    )


def add(session: Session, row: ModelVersionRow) -> None:
    session.add(row)
    session.flush()


def add_promotion(session: Session, row: ModelPromotionRow) -> None:
    session.add(row)
    session.flush()
