"""The incident tables: a metric out of control (what moved, by how much, since when, the
evidence chart) through open → acknowledged → resolved, and its alert deliveries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime

OPEN: Final = "open"
ACKNOWLEDGED: Final = "acknowledged"
RESOLVED: Final = "resolved"
STATES: Final = (OPEN, ACKNOWLEDGED, RESOLVED)
UNRESOLVED: Final = (OPEN, ACKNOWLEDGED)


def _listed(values: tuple[str, ...]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class IncidentRow(Base):
    """An incident. ``since_day`` is the first day of the out-of-control run, ``last_day`` the
    newest day charted when it opened (a later run of the same metric must start after it);
    ``value`` the metric's mean over the run against ``baseline`` (the warm-up mean), in σ
    (``deviation_sigma``) and % (``change_pct``); ``evidence`` the whole chart. The database
    refuses a second unresolved incident for a metric and segment."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint(f"state IN ({_listed(STATES)})", name="known_state"),
        CheckConstraint("direction IN ('up', 'down')", name="known_direction"),
        CheckConstraint("since_day <= last_day", name="since_before_last_day"),
        CheckConstraint(
            f"(state = '{OPEN}' AND acknowledged_at IS NULL AND resolved_at IS NULL) "
            f"OR (state = '{ACKNOWLEDGED}' AND acknowledged_at IS NOT NULL "
            "AND resolved_at IS NULL) "
            f"OR (state = '{RESOLVED}' AND resolved_at IS NOT NULL)",
            name="steps_recorded",
        ),
        Index(
            "uq_incidents_unresolved_metric_segment",
            "metric",
            "segment",
            unique=True,
            sqlite_where=text(f"state IN ({_listed(UNRESOLVED)})"),
            postgresql_where=text(f"state IN ({_listed(UNRESOLVED)})"),
        ),
        Index("ix_incidents_state_opened", "state", "opened_at"),
        Index("ix_incidents_metric_segment_last_day", "metric", "segment", "last_day"),
    )

    incident_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    metric: Mapped[str] = mapped_column(String(80))
    segment: Mapped[str] = mapped_column(String(80))
    detector: Mapped[str] = mapped_column(String(12))
    direction: Mapped[str] = mapped_column(String(4))
    state: Mapped[str] = mapped_column(String(12))
    since_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    value: Mapped[float] = mapped_column(Float)
    baseline: Mapped[float] = mapped_column(Float)
    sigma: Mapped[float] = mapped_column(Float)
    deviation_sigma: Mapped[float] = mapped_column(Float)
    change_pct: Mapped[float | None] = mapped_column(Float)
    thresholds_version: Mapped[str] = mapped_column(String(40))
    thresholds_sha256: Mapped[str] = mapped_column(String(64))
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    opened_by: Mapped[str] = mapped_column(String(120))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    acknowledged_by: Mapped[str | None] = mapped_column(String(120))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IncidentAlertRow(Base):
    """One incident's alert to one webhook: tried when the incident opens and again by the
    worker (``next_attempt_at``) until the webhook accepts it (``delivered_at``)."""

    __tablename__ = "incident_alerts"
    __table_args__ = (Index("ix_incident_alerts_next_attempt_at", "next_attempt_at"),)

    incident_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("incidents.incident_id"), primary_key=True
    )
    webhook: Mapped[str] = mapped_column(String(500), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
