"""Every query of the incident tables; nothing here commits."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
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


def _filtered(query: Select[Any], *, state: str | None, metric: str | None) -> Select[Any]:
    if state == "unresolved":
        query = query.where(IncidentRow.state.in_(UNRESOLVED))
    elif state is not None:
        query = query.where(IncidentRow.state == state)
    if metric is not None:
        query = query.where(IncidentRow.metric == metric)
    return query


def listed(
    session: Session, *, state: str | None, metric: str | None, limit: int, offset: int
) -> tuple[list[IncidentRow], int]:
    """Matching incidents (``state``: one state, ``unresolved`` or None for all), newest
    first, and how many match in all."""
    rows = session.scalars(
        _filtered(select(IncidentRow), state=state, metric=metric)
        .order_by(IncidentRow.opened_at.desc(), IncidentRow.incident_id)
        .limit(limit)
        .offset(offset)
    ).all()
    total = session.scalar(
        _filtered(select(func.count()).select_from(IncidentRow), state=state, metric=metric)
    )
    return list(rows), int(total or 0)


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
