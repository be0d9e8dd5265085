"""Every query of the approval table; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, func, or_, select, update
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


def get(session: Session, request_id: str) -> ApprovalRequestRow | None:
    """One request (to decide one, :func:`claim` it first)."""
    return session.scalars(
        select(ApprovalRequestRow).where(ApprovalRequestRow.request_id == request_id)
    ).first()


def claim(session: Session, request_id: str) -> bool:
    """Hold the request for this transaction if it is still pending; False when it is not
    (or does not exist).

    A compare-and-set that changes nothing (``UPDATE ... SET state = state WHERE state =
    'pending'``), so that deciding reads the request only once no one else can decide it: on
    PostgreSQL it locks the row, and a caller that waited for a concurrent decision re-checks
    ``state`` on the row that decision committed; on SQLite it takes the database's write
    lock, so what the caller reads next is the latest committed state. ``SELECT ... FOR
    UPDATE`` is not enough on SQLite: it locks nothing and runs before the write transaction
    begins, so two deciders could both read the request as pending.
    """
    held = session.execute(
        update(ApprovalRequestRow)
        .where(ApprovalRequestRow.request_id == request_id, ApprovalRequestRow.state == PENDING)
        .values(state=ApprovalRequestRow.state)
        .returning(ApprovalRequestRow.request_id)
        .execution_options(synchronize_session=False)
    ).first()
    return held is not None


def pending_for(session: Session, kind: str, subject: str) -> ApprovalRequestRow | None:
    """The pending request about ``subject``, if any (at most one exists)."""
    return session.scalars(
        select(ApprovalRequestRow).where(
            ApprovalRequestRow.kind == kind,
            ApprovalRequestRow.subject == subject,
            ApprovalRequestRow.state == PENDING,
        )
    ).first()


def pending_about(
    session: Session, kind: str, subjects: Sequence[str] | None, *, chunk: int = 500
) -> list[ApprovalRequestRow]:
    """The pending requests of ``kind`` about any of ``subjects`` (None: every subject); none
    when no request of that kind is pending at all (one indexed probe for a quiet queue)."""
    pending = (ApprovalRequestRow.kind == kind, ApprovalRequestRow.state == PENDING)
    if session.scalar(select(ApprovalRequestRow.request_id).where(*pending).limit(1)) is None:
        return []
    if subjects is None:
        return list(session.scalars(select(ApprovalRequestRow).where(*pending)))
    found: list[ApprovalRequestRow] = []
    for start in range(0, len(subjects), chunk):
        part = subjects[start : start + chunk]
        found += session.scalars(
            select(ApprovalRequestRow).where(*pending, ApprovalRequestRow.subject.in_(part))
        )
    return found


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


def waiting_spans(
    session: Session, *, since: datetime, until: datetime
) -> list[tuple[datetime, datetime | None]]:
    """(created, ended) of every request that may have been waiting for a checker at some
    moment of [since, until]: ended is when it was decided, withdrawn or expired (None while
    it is still pending). A request past its expiry that the expiry job has not reached yet
    is still waiting: nobody can act on it, but nobody has closed it either."""
    r = ApprovalRequestRow
    rows = session.execute(
        select(r.created_at, r.decided_at, r.expires_at, r.state).where(
            r.created_at <= until, or_(r.decided_at.is_(None), r.decided_at >= since)
        )
    )
    spans: list[tuple[datetime, datetime | None]] = []
    for created, decided, expires, state in rows:
        ended = decided if decided is not None else (None if state == PENDING else expires)
        if ended is None or ended >= since:
            spans.append((created, ended))
    return spans
