"""Every query of the incident tables; nothing here commits."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repayguard.monitoring.incident_models import UNRESOLVED, IncidentAlertRow, IncidentRow


def add(session: Session, row: IncidentRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, incident_id: str, *, for_update: bool = False) -> IncidentRow | None:
    query = select(IncidentRow).where(IncidentRow.incident_id == incident_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def unresolved_for(session: Session, metric: str, segment: str) -> IncidentRow | None:
    """The metric and segment's open or acknowledged incident, if any."""
    return session.scalars(
        select(IncidentRow).where(
            IncidentRow.metric == metric,
            IncidentRow.segment == segment,
            IncidentRow.state.in_(UNRESOLVED),
        )
    ).first()


def reported_through(session: Session, metric: str, segment: str, direction: str) -> date | None:
    """The newest day an incident of this metric, segment and direction already covered."""
    return session.scalar(
        select(func.max(IncidentRow.last_day)).where(
            IncidentRow.metric == metric,
            IncidentRow.segment == segment,
            IncidentRow.direction == direction,
        )
    )


def listed(
    session: Session, *, state: str | None, metric: str | None, limit: int, offset: int
) -> tuple[list[IncidentRow], int]:
    """Matching incidents, newest first, and how many match in all."""
    query = select(IncidentRow)
    count = select(func.count()).select_from(IncidentRow)
    if state == "unresolved":
        query, count = (q.where(IncidentRow.state.in_(UNRESOLVED)) for q in (query, count))
    elif state is not None:
        query, count = (q.where(IncidentRow.state == state) for q in (query, count))
    if metric is not None:
        query, count = (q.where(IncidentRow.metric == metric) for q in (query, count))
    rows = session.scalars(
        query.order_by(IncidentRow.opened_at.desc(), IncidentRow.incident_id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(session.scalar(count) or 0)


def add_alert(session: Session, row: IncidentAlertRow) -> None:
    session.add(row)


def alert(
    session: Session, incident_id: str, webhook: str, *, for_update: bool = False
) -> IncidentAlertRow | None:
    query = select(IncidentAlertRow).where(
        IncidentAlertRow.incident_id == incident_id, IncidentAlertRow.webhook == webhook
    )
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def alerts_of(session: Session, incident_id: str) -> list[IncidentAlertRow]:
    return list(
        session.scalars(
            select(IncidentAlertRow)
            .where(IncidentAlertRow.incident_id == incident_id)
            .order_by(IncidentAlertRow.webhook)
        )
    )


def alerts_due(session: Session, now: datetime, *, limit: int) -> list[tuple[str, str]]:
    """(incident id, webhook) of alerts not yet delivered whose next attempt is due."""
    rows = session.execute(
        select(IncidentAlertRow.incident_id, IncidentAlertRow.webhook)
        .where(
            IncidentAlertRow.delivered_at.is_(None),
            IncidentAlertRow.next_attempt_at <= now,
        )
        .order_by(IncidentAlertRow.next_attempt_at)
        .limit(limit)
    ).all()
    return [(r[0], r[1]) for r in rows]
