"""Every query of the approval table; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from repayguard.approvals.models import PENDING, ApprovalRequestRow

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class QueueFilter:
    """Which requests a queue shows: every given field must match (None: any)."""

    state: str | None = PENDING
    kind: str | None = None
    subject: str | None = None
    category: str | None = None
    maker_id: str | None = None
    created_before: datetime | None = None


def add(session: Session, row: ApprovalRequestRow) -> None:
    """Insert a request; a second pending one about the same subject fails here, on the
    partial unique index, inside the use-case."""
    session.add(row)
    session.flush()


def get(
    session: Session, request_id: str, *, for_update: bool = False
) -> ApprovalRequestRow | None:
    """One request; ``for_update`` locks it until the transaction ends (PostgreSQL; SQLite
    serialises writers on the database)."""
    query = select(ApprovalRequestRow).where(ApprovalRequestRow.request_id == request_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def pending_for(session: Session, kind: str, subject: str) -> ApprovalRequestRow | None:
    """The pending request about ``subject``, if any (at most one exists)."""
    return session.scalars(
        select(ApprovalRequestRow).where(
            ApprovalRequestRow.kind == kind,
            ApprovalRequestRow.subject == subject,
            ApprovalRequestRow.state == PENDING,
        )
    ).first()


def latest_for(session: Session, kind: str, subject: str) -> ApprovalRequestRow | None:
    """The most recent request about ``subject``, in any state."""
    return session.scalars(
        select(ApprovalRequestRow)
        .where(ApprovalRequestRow.kind == kind, ApprovalRequestRow.subject == subject)
        .order_by(ApprovalRequestRow.created_at.desc(), ApprovalRequestRow.request_id.desc())
        .limit(1)
    ).first()


def _filtered(query: Select[_T], where: QueueFilter) -> Select[_T]:
    table = ApprovalRequestRow
    for column, value in (
        (table.state, where.state),
        (table.kind, where.kind),
        (table.subject, where.subject),
        (table.category, where.category),
        (table.maker_id, where.maker_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if where.created_before is not None:
        query = query.where(table.created_at < where.created_before)
    return query


def listed(
    session: Session, where: QueueFilter, *, limit: int, offset: int = 0
) -> tuple[Sequence[ApprovalRequestRow], int]:
    """Matching requests, oldest first (the order a checker works a queue in), and how many
    match in all."""
    rows = session.scalars(
        _filtered(select(ApprovalRequestRow), where)
        .order_by(ApprovalRequestRow.created_at, ApprovalRequestRow.request_id)
        .limit(limit)
        .offset(offset)
    ).all()
    counted = _filtered(select(ApprovalRequestRow), where).subquery()
    total = session.scalar(select(func.count()).select_from(counted))
    return rows, int(total or 0)


def due(session: Session, now: datetime, *, limit: int) -> Sequence[ApprovalRequestRow]:
    """Pending requests whose time to be decided has passed, oldest expiry first."""
    return session.scalars(
        select(ApprovalRequestRow)
        .where(ApprovalRequestRow.state == PENDING, ApprovalRequestRow.expires_at <= now)
        .order_by(ApprovalRequestRow.expires_at, ApprovalRequestRow.request_id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
