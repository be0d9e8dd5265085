"""Every query of notices, their deliveries and baselines; nothing here commits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repayguard.entitlements import Entitlement
from repayguard.notices.models import NoticeBaselineRow, NoticeDeliveryRow, NoticeRow
from repayguard.platform.db import table_of

_IN_CHUNK: Final = 500
_NOTICES = table_of(NoticeRow)
_DELIVERIES = table_of(NoticeDeliveryRow)
_BASELINES = table_of(NoticeBaselineRow)

Occasion = tuple[str, str, str, str]
"""(borrower_id, decision_id, rule_id, kind): what makes a notice unique."""


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _IN_CHUNK):
        yield items[start : start + _IN_CHUNK]


def baselines(session: Session, borrower_ids: Sequence[str]) -> dict[str, Entitlement]:
    """The last entitlement notices saw, by borrower (borrowers without one are absent)."""
    found: dict[str, Entitlement] = {}
    for chunk in _chunks(borrower_ids):
        rows = session.execute(
            select(_BASELINES.c.borrower_id, _BASELINES.c.entitlement).where(
                _BASELINES.c.borrower_id.in_(chunk)
            )
        )
        for borrower_id, payload in rows:
            found[borrower_id] = Entitlement.from_payload(payload)
    return found


def save_baselines(session: Session, entitlements: Sequence[Entitlement], *, now: datetime) -> None:
    """Insert or replace the baselines of these borrowers."""
    if not entitlements:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_BASELINES)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["borrower_id"],
            set_={
                "entitlement": statement.excluded.entitlement,
                "updated_at": statement.excluded.updated_at,
            },
        ),
        [
            {"borrower_id": e.borrower_id, "entitlement": e.as_payload(), "updated_at": now}
            for e in entitlements
        ],
    )


def existing_occasions(session: Session, occasions: Iterable[Occasion]) -> set[Occasion]:
    """The occasions among ``occasions`` that already have a notice."""
    wanted = set(occasions)
    borrowers = sorted({o[0] for o in wanted})
    found: set[Occasion] = set()
    for chunk in _chunks(borrowers):
        members = set(chunk)
        rows = session.execute(
            select(
                _NOTICES.c.borrower_id, _NOTICES.c.decision_id, _NOTICES.c.rule_id, _NOTICES.c.kind
            ).where(
                _NOTICES.c.borrower_id.in_(chunk),
                _NOTICES.c.decision_id.in_(sorted({o[1] for o in wanted if o[0] in members})),
            )
        )
        for borrower_id, decision_id, rule_id, kind in rows:
            key = (borrower_id, decision_id, rule_id, kind)
            if key in wanted:
                found.add(key)
    return found


def add(
    session: Session, notices: Sequence[dict[str, Any]], deliveries: Sequence[dict[str, Any]]
) -> None:
    """Append notices and their delivery rows (bulk, no ORM objects)."""
    if notices:
        session.execute(insert(_NOTICES), list(notices))
    if deliveries:
        session.execute(insert(_DELIVERIES), list(deliveries))


def occasion_notice(
    session: Session, borrower_id: str, occasion_id: str, kind: str
) -> NoticeRow | None:
    """The borrower's notice of ``kind`` about ``occasion_id``, if one was written."""
    return session.scalars(
        select(NoticeRow).where(
            NoticeRow.borrower_id == borrower_id,
            NoticeRow.occasion_id == occasion_id,
            NoticeRow.kind == kind,
        )
    ).one_or_none()


def about_occasions(
    session: Session, borrower_id: str, occasion_ids: Sequence[str]
) -> list[NoticeRow]:
    """The borrower's notices about these occasions, oldest first."""
    found: list[NoticeRow] = []
    for chunk in _chunks(occasion_ids):
        found.extend(
            session.scalars(
                select(NoticeRow).where(
                    NoticeRow.borrower_id == borrower_id, NoticeRow.occasion_id.in_(chunk)
                )
            )
        )
    return sorted(found, key=lambda r: (r.created_at, r.kind, r.notice_id))


def for_borrower(
    session: Session, borrower_id: str, *, limit: int, kind: str | None
) -> list[NoticeRow]:
    """A borrower's notices, newest first."""
    query = select(NoticeRow).where(NoticeRow.borrower_id == borrower_id)
    if kind is not None:
        query = query.where(NoticeRow.kind == kind)
    query = query.order_by(NoticeRow.created_at.desc(), NoticeRow.notice_id.desc()).limit(limit)
    return list(session.scalars(query).all())


def deliveries_of(
    session: Session, notice_ids: Sequence[str]
) -> dict[str, list[NoticeDeliveryRow]]:
    """The delivery rows of these notices, by notice id (inbox first, then by channel)."""
    found: dict[str, list[NoticeDeliveryRow]] = {}
    for chunk in _chunks(notice_ids):
        rows = session.scalars(
            select(NoticeDeliveryRow)
            .where(NoticeDeliveryRow.notice_id.in_(chunk))
            .order_by(NoticeDeliveryRow.channel)
        )
        for row in rows:
            found.setdefault(row.notice_id, []).append(row)
    for listed in found.values():
        listed.sort(key=lambda r: (r.channel != "inbox", r.channel))
    return found


def due(
    session: Session,
    *,
    now: datetime,
    channels: Sequence[str],
    notice_ids: Sequence[str] | None,
    limit: int,
) -> list[str]:
    """Ids of pending deliveries on ``channels`` whose next attempt is due, oldest first."""
    if not channels:
        return []
    query = select(_DELIVERIES.c.delivery_id).where(
        _DELIVERIES.c.status == "pending",
        _DELIVERIES.c.next_attempt_at <= now,
        _DELIVERIES.c.channel.in_(channels),
    )
    if notice_ids is not None:
        query = query.where(_DELIVERIES.c.notice_id.in_(notice_ids))
    query = query.order_by(_DELIVERIES.c.next_attempt_at, _DELIVERIES.c.delivery_id).limit(limit)
    return [row[0] for row in session.execute(query)]


def claim(
    session: Session, delivery_ids: Sequence[str], *, token: str, now: datetime, until: datetime
) -> int:
    """Claim the still-due rows among ``delivery_ids`` for one dispatcher: one conditional
    UPDATE, so a row another dispatcher claimed meanwhile is left out. Returns how many."""
    result = session.execute(
        update(_DELIVERIES)
        .where(
            _DELIVERIES.c.delivery_id.in_(delivery_ids),
            _DELIVERIES.c.status == "pending",
            _DELIVERIES.c.next_attempt_at <= now,
        )
        .values(claim_token=token, next_attempt_at=until, updated_at=now)
    )
    return int(getattr(result, "rowcount", 0))


def claimed(session: Session, token: str) -> list[tuple[NoticeDeliveryRow, NoticeRow]]:
    """The rows a claim took, each with its notice, grouped by channel."""
    rows = session.execute(
        select(NoticeDeliveryRow, NoticeRow)
        .join(NoticeRow, NoticeRow.notice_id == NoticeDeliveryRow.notice_id)
        .where(NoticeDeliveryRow.claim_token == token)
        .order_by(NoticeDeliveryRow.channel, NoticeRow.created_at, NoticeRow.notice_id)
    ).all()
    return [(delivery, notice) for delivery, notice in rows]


def record_attempt(
    session: Session,
    delivery_id: str,
    *,
    token: str,
    now: datetime,
    attempts: int,
    status: str,
    error: str | None,
    next_attempt_at: datetime | None,
) -> bool:
    """Record an attempt of a claimed row, only while the claim is still ours."""
    result = session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.delivery_id == delivery_id, _DELIVERIES.c.claim_token == token)
        .values(
            attempts=attempts,
            status=status,
            last_error=error,
            next_attempt_at=next_attempt_at,
            delivered_at=now if status == "delivered" else None,
            claim_token=None,
            updated_at=now,
        )
    )
    return bool(getattr(result, "rowcount", 0))


def release(session: Session, delivery_ids: Sequence[str], *, token: str, at: datetime) -> None:
    """Hand claimed rows back unattempted, due again at ``at``."""
    if not delivery_ids:
        return
    session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.delivery_id.in_(delivery_ids), _DELIVERIES.c.claim_token == token)
        .values(claim_token=None, next_attempt_at=at)
    )


def created_between(session: Session, *, since: datetime, until: datetime) -> list[datetime]:
    """When each notice written in [since, until] was created (portfolio monitoring)."""
    return list(
        session.scalars(
            select(NoticeRow.created_at).where(
                NoticeRow.created_at >= since, NoticeRow.created_at <= until
            )
        )
    )
