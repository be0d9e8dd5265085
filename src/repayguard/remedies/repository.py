"""Every query on the remedies table (never commits: the use-case does)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from repayguard.remedies.models import RemedyRow


def of_complaint(session: Session, complaint_id: str) -> list[RemedyRow]:
    """The case's remedies, in the order they were recorded."""
    return list(
        session.scalars(
            select(RemedyRow)
            .where(RemedyRow.complaint_id == complaint_id)
            .order_by(RemedyRow.created_at, RemedyRow.kind)
        )
    )


def get(session: Session, remedy_id: str, *, for_update: bool = False) -> RemedyRow | None:
    query = select(RemedyRow).where(RemedyRow.remedy_id == remedy_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def due_for_export(session: Session, now: datetime, *, limit: int) -> list[str]:
    """Ids of approved remedies the ledger has not acknowledged, due by ``now``, oldest first."""
    return list(
        session.scalars(
            select(RemedyRow.remedy_id)
            .where(RemedyRow.exported_at.is_(None), RemedyRow.next_export_at <= now)
            .order_by(RemedyRow.next_export_at, RemedyRow.remedy_id)
            .limit(limit)
        )
    )


def add(session: Session, rows: list[RemedyRow]) -> None:
    session.add_all(rows)
    session.flush()
