"""Incident use-cases: open one for an alarm, acknowledge it, resolve it, and read them; and
the messages they emit (``repayguard.monitoring.incident_*``, also their audit actions).

``repayguard.monitoring.incident_opened`` carries :class:`IncidentOpened` — the contract
other capabilities arm on (emergency overlays' playbooks, the alert webhooks): which metric
and segment moved, up or down, by how many σ, since which day. Opening is one transaction: the
incident, one pending alert per configured webhook (so the worker retries them even if the
message's consumer never ran) and the message. The database refuses a second unresolved
incident for a metric and segment, so two detection runs racing open one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from repayguard import identity
from repayguard.errors import InvalidInput
from repayguard.monitoring import incident_repository as repository
from repayguard.monitoring.detectors import Alarm
from repayguard.monitoring.errors import IncidentAlreadyOpen, IncidentNotFound, IncidentStateInvalid
from repayguard.monitoring.incident_models import (
    ACKNOWLEDGED,
    OPEN,
    RESOLVED,
    IncidentAlertRow,
    IncidentRow,
)
from repayguard.monitoring.messages import (
    IncidentAcknowledged,
    IncidentOpened,
    IncidentResolved,
)
from repayguard.platform.messages import Message
from repayguard.platform.records import record_of
from repayguard.platform.uow import UnitOfWork

MANAGE_PERMISSION: Final = "incidents:manage"
MAX_NOTE: Final = 4_000


@dataclass(frozen=True, slots=True)
class OpenIncident:
    """Open an incident for ``alarm``, raised under the thresholds ``thresholds_version``
    (file sha256 ``thresholds_sha256``); ``by`` names who raised it (the detection job)."""

    alarm: Alarm
    thresholds_version: str
    thresholds_sha256: str
    by: str = "system:monitoring.detect"


@dataclass(frozen=True, slots=True)
class AcknowledgeIncident:
    """An operator (``by``: their id) says they are looking into the incident."""

    incident_id: str
    by: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ResolveIncident:
    """An operator (``by``: their id) closes the incident, saying why in ``note``."""

    incident_id: str
    by: str
    note: str


@dataclass(frozen=True, slots=True)
class AlertInfo:
    webhook: str
    attempts: int
    delivered_at: datetime | None
    next_attempt_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class IncidentInfo:
    """An incident as callers see it; ``evidence`` is the chart's points (dicts with day,
    value, up, down, upper, lower, alarm)."""

    incident_id: str
    metric: str
    segment: str
    detector: str
    direction: str
    state: str
    since_day: date
    last_day: date
    value: float
    baseline: float
    sigma: float
    deviation_sigma: float
    change_pct: float | None
    thresholds_version: str
    thresholds_sha256: str
    opened_at: datetime
    opened_by: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None
    evidence: tuple[dict[str, Any], ...] = ()
    alerts: tuple[AlertInfo, ...] = ()


@dataclass(frozen=True, slots=True)
class IncidentPage:
    items: list[IncidentInfo]
    total: int


def info(
    row: IncidentRow, *, evidence: bool = False, alerts: Sequence[IncidentAlertRow] = ()
) -> IncidentInfo:
    """The incident as callers see it (its chart only when asked: it is the bulky part)."""
    return record_of(
        IncidentInfo,
        row,
        evidence=tuple(row.evidence) if evidence else (),
        alerts=tuple(
            AlertInfo(a.webhook, a.attempts, a.delivered_at, a.next_attempt_at, a.last_error)
            for a in alerts
        ),
    )


def _evidence(alarm: Alarm) -> list[dict[str, Any]]:
    return [{**asdict(p), "day": p.day.isoformat()} for p in alarm.evidence]


def open_incident(
    cmd: OpenIncident, *, uow: UnitOfWork, alert_webhooks: Sequence[str] = ()
) -> IncidentInfo:
    """Open an incident for the alarm (refused while the metric and segment have an
    unresolved one), with a pending alert per webhook, and emit ``incident_opened``."""
    alarm = cmd.alarm
    with uow:
        session = uow.session
        now = uow.clock.now()
        existing = repository.unresolved_for(session, alarm.metric, alarm.segment)
        if existing is not None:
            raise _already_open(existing.incident_id, alarm)
        row = IncidentRow(
            incident_id=uuid.uuid4().hex,
            metric=alarm.metric,
            segment=alarm.segment,
            detector=alarm.detector,
            direction=alarm.direction,
            state=OPEN,
            since_day=alarm.since,
            last_day=alarm.last_day,
            value=alarm.value,
            baseline=alarm.baseline,
            sigma=alarm.sigma,
            deviation_sigma=alarm.deviation_sigma,
            change_pct=alarm.change_pct,
            thresholds_version=cmd.thresholds_version,
            thresholds_sha256=cmd.thresholds_sha256,
            evidence=_evidence(alarm),
            opened_at=now,
            opened_by=cmd.by,
            updated_at=now,
        )
        try:
            repository.add(session, row)
        except IntegrityError as exc:
            # A concurrent run opened one for the same metric and segment first.
            raise _already_open(None, alarm) from exc
        for webhook in dict.fromkeys(alert_webhooks):
            repository.add_alert(
                session,
                IncidentAlertRow(
                    incident_id=row.incident_id, webhook=webhook, attempts=0, next_attempt_at=now
                ),
            )
        uow.emit(Message(opened(row)))
        result = info(row, evidence=True)
        uow.commit()
    return result


def opened(row: IncidentRow) -> IncidentOpened:
    """The ``incident_opened`` payload of an incident."""
    return record_of(IncidentOpened, row, since=row.since_day.isoformat())


def acknowledge_incident(cmd: AcknowledgeIncident, *, uow: UnitOfWork) -> IncidentInfo:
    """Mark an open incident as being looked into (``incident_acknowledged``)."""
    note = _note(cmd.note, required=False)
    with uow:
        session = uow.session
        who = _manager(session, cmd.by, "acknowledge incidents")
        row = existing(session, cmd.incident_id, for_update=True)
        if row.state != OPEN:
            raise IncidentStateInvalid(
                f"incident {row.incident_id} is {row.state}, not open",
                hint="only an open incident is acknowledged; resolve it instead",
            )
        now = uow.clock.now()
        row.state, row.acknowledged_at, row.acknowledged_by = ACKNOWLEDGED, now, who
        row.note = note or row.note
        row.updated_at = now
        uow.emit(Message(IncidentAcknowledged(
            row.incident_id, row.metric, row.segment, row.state, who
        )))  # fmt: skip
        result = info(row)
        uow.commit()
    return result


def resolve_incident(cmd: ResolveIncident, *, uow: UnitOfWork) -> IncidentInfo:
    """Close an open or acknowledged incident with a note saying why
    (``incident_resolved``); the metric may then open a new one for a later run."""
    note = _note(cmd.note, required=True)
    with uow:
        session = uow.session
        who = _manager(session, cmd.by, "resolve incidents")
        row = existing(session, cmd.incident_id, for_update=True)
        if row.state == RESOLVED:
            raise IncidentStateInvalid(f"incident {row.incident_id} is already resolved")
        now = uow.clock.now()
        row.state, row.resolved_at, row.resolved_by = RESOLVED, now, who
        row.note = note
        row.updated_at = now
        uow.emit(Message(IncidentResolved(
            row.incident_id, row.metric, row.segment, row.state, who
        )))  # fmt: skip
        result = info(row)
        uow.commit()
    return result


def get_incident(incident_id: str, *, uow: UnitOfWork) -> IncidentInfo:
    """One incident with its evidence chart and alert deliveries."""
    with uow:
        row = existing(uow.session, incident_id)
        return info(row, evidence=True, alerts=repository.alerts_of(uow.session, incident_id))


def list_incidents(
    *,
    uow: UnitOfWork,
    state: str | None = "unresolved",
    metric: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> IncidentPage:
    """Incidents, newest first: ``state`` one of the states, ``unresolved`` or None (all)."""
    with uow:
        rows, total = repository.listed(
            uow.session, state=state, metric=metric, limit=limit, offset=offset
        )
        return IncidentPage([info(r) for r in rows], total)


def existing(session: Session, incident_id: str, *, for_update: bool = False) -> IncidentRow:
    """The incident, or IncidentNotFound."""
    row = repository.get(session, incident_id, for_update=for_update)
    if row is None:
        raise IncidentNotFound(
            f"no incident {incident_id!r}", hint="'repayguard incidents list' shows them"
        )
    return row


def _manager(session: Session, operator_id: str, doing: str) -> str:
    """The acting operator's username; they must exist, be active and manage incidents."""
    return identity.permitted_operator(
        session, operator_id, permission=MANAGE_PERMISSION, doing=doing
    ).username


def _note(value: str | None, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise InvalidInput("resolving an incident needs a note saying why")
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"the note is longer than {MAX_NOTE:,} characters")
    return text or None


def _already_open(incident_id: str | None, alarm: Alarm) -> IncidentAlreadyOpen:
    which = f"incident {incident_id}" if incident_id else "an incident"
    return IncidentAlreadyOpen(
        f"{which} is already unresolved for {alarm.metric} in segment {alarm.segment}",
        hint="resolve it first; one incident per metric and segment at a time",
    )
