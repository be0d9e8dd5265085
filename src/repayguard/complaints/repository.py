"""Every query of the complaint tables; nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from repayguard.complaints.models import (
    ACTIVE,
    DUE_SOON,
    ComplaintLabelRow,
    ComplaintRow,
)
from repayguard.platform.db import table_of


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which cases the queue shows: ``status`` one of the statuses, ``active`` (open or
    awaiting a reversal's approval), ``closed`` or None (all); ``overdue``: past their
    deadline and still active; ``escalated``: escalated at least once; ``borrower_id``: one
    borrower's cases."""

    status: str | None = "active"
    overdue: bool = False
    escalated: bool = False
    borrower_id: str | None = None


def add(session: Session, row: ComplaintRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, complaint_id: str, *, for_update: bool = False) -> ComplaintRow | None:
    query = select(ComplaintRow).where(ComplaintRow.complaint_id == complaint_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def active_for(session: Session, borrower_id: str, decision_id: str) -> ComplaintRow | None:
    """The borrower's active case about ``decision_id``, if any."""
    return session.scalars(
        select(ComplaintRow).where(
            ComplaintRow.borrower_id == borrower_id,
            ComplaintRow.decision_id == decision_id,
            ComplaintRow.status.in_(ACTIVE),
        )
    ).first()


def by_approval(
    session: Session, approval_id: str, *, for_update: bool = False
) -> ComplaintRow | None:
    """The case whose reversal is the override request ``approval_id``."""
    query = select(ComplaintRow).where(ComplaintRow.approval_id == approval_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def _filtered(query: Select[Any], where: QueueFilter, now: datetime) -> Select[Any]:
    if where.status == "active":
        query = query.where(ComplaintRow.status.in_(ACTIVE))
    elif where.status == "closed":
        query = query.where(ComplaintRow.status.not_in(ACTIVE))
    elif where.status is not None:
        query = query.where(ComplaintRow.status == where.status)
    if where.overdue:
        query = query.where(ComplaintRow.status.in_(ACTIVE), ComplaintRow.due_at <= now)
    if where.escalated:
        query = query.where(ComplaintRow.escalation.is_not(None))
    if where.borrower_id is not None:
        query = query.where(ComplaintRow.borrower_id == where.borrower_id)
    return query


def listed(
    session: Session, where: QueueFilter, *, now: datetime, limit: int, offset: int
) -> tuple[list[ComplaintRow], int]:
    """Matching cases, nearest deadline first, and how many match in all."""
    rows = session.scalars(
        _filtered(select(ComplaintRow), where, now)
        .order_by(ComplaintRow.due_at, ComplaintRow.complaint_id)
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.scalar(_filtered(select(func.count()).select_from(ComplaintRow), where, now))
    return list(rows), int(total or 0)


def for_borrower(session: Session, borrower_id: str, *, limit: int) -> list[ComplaintRow]:
    """A borrower's cases, newest first."""
    return list(
        session.scalars(
            select(ComplaintRow)
            .where(ComplaintRow.borrower_id == borrower_id)
            .order_by(ComplaintRow.filed_at.desc(), ComplaintRow.complaint_id)
            .limit(limit)
        )
    )


def escalation_due(
    session: Session, *, now: datetime, window_start: datetime, limit: int
) -> list[ComplaintRow]:
    """Active cases whose escalation is behind: inside the window before their deadline and
    not escalated yet, or past it and not yet escalated as overdue. Nearest deadline first."""
    due_soon = (ComplaintRow.due_at <= window_start) & ComplaintRow.escalation.is_(None)
    overdue = (ComplaintRow.due_at <= now) & (
        ComplaintRow.escalation.is_(None) | (ComplaintRow.escalation == DUE_SOON)
    )
    return list(
        session.scalars(
            select(ComplaintRow)
            .where(ComplaintRow.status.in_(ACTIVE), or_(due_soon, overdue))
            .order_by(ComplaintRow.due_at, ComplaintRow.complaint_id)
            .limit(limit)
            .with_for_update()
        )
    )


def add_label(session: Session, row: ComplaintLabelRow) -> None:
    session.add(row)
    session.flush()


def labels(session: Session, *, since: datetime | None) -> pl.DataFrame:
    """Outcome labels resolved at or after ``since`` (all when None), oldest first."""
    table = table_of(ComplaintLabelRow)
    query = select(*table.columns).order_by(table.c.resolved_at, table.c.complaint_id)
    if since is not None:
        query = query.where(table.c.resolved_at >= since)
    rows = [dict(r) for r in session.execute(query).mappings()]
    schema = {
        "complaint_id": pl.String(),
        "borrower_id": pl.String(),
        "decision_id": pl.String(),
        "as_of": pl.Datetime("us", "UTC"),
        "rule_id": pl.String(),
        "model_version": pl.String(),
        "outcome": pl.String(),
        "resolved_at": pl.Datetime("us", "UTC"),
    }
    return pl.DataFrame(rows, schema=schema, orient="row").select(list(schema))


def filed_between(session: Session, *, since: datetime, until: datetime) -> list[datetime]:
    """When each complaint filed in [since, until] was filed (portfolio monitoring)."""
    return list(
        session.scalars(
            select(ComplaintRow.filed_at).where(
                ComplaintRow.filed_at >= since, ComplaintRow.filed_at <= until
            )
        )
    )
