"""Every query of the hardship case table; nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from repayguard.hardship.models import DUE_SOON, OPEN, HardshipCaseRow


@dataclass(frozen=True, slots=True)
class HardshipFilter:
    """Which cases the queue shows: ``status`` one of the statuses, ``closed`` or None (all);
    ``overdue``: open past their deadline; ``borrower_id``: one borrower's cases."""

    status: str | None = OPEN
    overdue: bool = False
    borrower_id: str | None = None


def add(session: Session, row: HardshipCaseRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, case_id: str, *, for_update: bool = False) -> HardshipCaseRow | None:
    query = select(HardshipCaseRow).where(HardshipCaseRow.case_id == case_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def open_for(session: Session, borrower_id: str) -> HardshipCaseRow | None:
    """The borrower's open case, if any."""
    return session.scalars(
        select(HardshipCaseRow).where(
            HardshipCaseRow.borrower_id == borrower_id, HardshipCaseRow.status == OPEN
        )
    ).first()


def _filtered(query: Select[Any], where: HardshipFilter, now: datetime) -> Select[Any]:
    if where.status == "closed":
        query = query.where(HardshipCaseRow.status != OPEN)
    elif where.status is not None:
        query = query.where(HardshipCaseRow.status == where.status)
    if where.overdue:
        query = query.where(HardshipCaseRow.status == OPEN, HardshipCaseRow.due_at <= now)
    if where.borrower_id is not None:
        query = query.where(HardshipCaseRow.borrower_id == where.borrower_id)
    return query


def listed(
    session: Session, where: HardshipFilter, *, now: datetime, limit: int, offset: int
) -> tuple[list[HardshipCaseRow], int]:
    """Matching cases, nearest deadline first, and how many match in all."""
    rows = session.scalars(
        _filtered(select(HardshipCaseRow), where, now)
        .order_by(HardshipCaseRow.due_at, HardshipCaseRow.case_id)
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.scalar(_filtered(select(func.count()).select_from(HardshipCaseRow), where, now))
    return list(rows), int(total or 0)


def for_borrower(session: Session, borrower_id: str, *, limit: int) -> list[HardshipCaseRow]:
    """A borrower's cases, newest first."""
    return list(
        session.scalars(
            select(HardshipCaseRow)
            .where(HardshipCaseRow.borrower_id == borrower_id)
            .order_by(HardshipCaseRow.opened_at.desc(), HardshipCaseRow.case_id)
            .limit(limit)
        )
    )


def escalation_due(
    session: Session, *, now: datetime, window_start: datetime, limit: int
) -> list[HardshipCaseRow]:
    """Open cases whose escalation is behind (inside the window and not escalated, or past the
    deadline and not yet escalated as overdue), nearest deadline first."""
    due_soon = (HardshipCaseRow.due_at <= window_start) & HardshipCaseRow.escalation.is_(None)
    overdue = (HardshipCaseRow.due_at <= now) & (
        HardshipCaseRow.escalation.is_(None) | (HardshipCaseRow.escalation == DUE_SOON)
    )
    return list(
        session.scalars(
            select(HardshipCaseRow)
            .where(HardshipCaseRow.status == OPEN, or_(due_soon, overdue))
            .order_by(HardshipCaseRow.due_at, HardshipCaseRow.case_id)
            .limit(limit)
            .with_for_update()
        )
    )
