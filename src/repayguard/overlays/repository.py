"""Every query of playbooks and overlays; nothing here commits."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from repayguard.overlays.models import ACTIVE, APPROVED, OverlayRow, PlaybookRow


def get_playbook(session: Session, name: str, version: int) -> PlaybookRow | None:
    return session.get(PlaybookRow, (name, version))


def latest_approved(session: Session, name: str) -> PlaybookRow | None:
    """The highest approved version of playbook ``name``."""
    return session.scalars(
        select(PlaybookRow)
        .where(PlaybookRow.name == name, PlaybookRow.state == APPROVED)
        .order_by(PlaybookRow.version.desc())
        .limit(1)
    ).first()


def playbooks(session: Session, *, state: str | None = None) -> list[PlaybookRow]:
    query = select(PlaybookRow).order_by(PlaybookRow.name, PlaybookRow.version)
    if state is not None:
        query = query.where(PlaybookRow.state == state)
    return list(session.scalars(query))


def add(session: Session, row: PlaybookRow | OverlayRow) -> None:
    session.add(row)


def get_overlay(session: Session, overlay_id: str, *, lock: bool = False) -> OverlayRow | None:
    return session.get(OverlayRow, overlay_id, with_for_update=lock)


def overlays(session: Session, *, active_only: bool = False, limit: int = 200) -> list[OverlayRow]:
    """Overlays, newest armed first (only armed or reviewed ones when ``active_only``)."""
    query = select(OverlayRow).order_by(OverlayRow.armed_at.desc()).limit(limit)
    if active_only:
        query = query.where(OverlayRow.state.in_(ACTIVE))
    return list(session.scalars(query))


def active_in_arming_order(session: Session) -> list[OverlayRow]:
    return list(
        session.scalars(
            select(OverlayRow)
            .where(OverlayRow.state.in_(ACTIVE))
            .order_by(OverlayRow.armed_at, OverlayRow.overlay_id)
        )
    )


def armed_by_incident(session: Session, incident_id: str) -> set[str]:
    """Names of the playbooks incident ``incident_id`` already armed."""
    return set(
        session.scalars(
            select(OverlayRow.playbook_name).where(OverlayRow.incident_id == incident_id)
        )
    )


def overdue(session: Session, now: datetime, *, limit: int) -> Sequence[OverlayRow]:
    """Active overlays past their expiry, or armed ones past their review deadline."""
    return list(
        session.scalars(
            select(OverlayRow)
            .where(
                OverlayRow.state.in_(ACTIVE),
                or_(
                    OverlayRow.expires_at <= now,
                    (OverlayRow.state == ACTIVE[0]) & (OverlayRow.review_due_at <= now),
                ),
            )
            .order_by(OverlayRow.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
