"""API shapes of incidents: the list, one incident with its evidence chart, the steps."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from repayguard.monitoring.incidents import IncidentInfo
from repayguard.platform.dto import Schema

State = Literal["open", "acknowledged", "resolved"]


class EvidencePointRead(Schema):
    """One charted day: the metric's value, the upward and downward statistic and the
    limits (null during warm-up), and whether it was out of control."""

    day: date
    value: float
    up: float | None
    down: float | None
    upper: float | None
    lower: float | None
    alarm: bool


class AlertRead(Schema):
    webhook: str
    attempts: int
    delivered_at: datetime | None
    next_attempt_at: datetime | None = Field(description="Null once delivered or given up.")
    last_error: str | None


class IncidentRead(Schema):
    incident_id: str
    metric: str
    segment: str
    detector: Literal["ewma", "cusum"]
    direction: Literal["up", "down"]
    state: State
    since_day: date = Field(description="First day of the out-of-control run.")
    last_day: date = Field(description="Newest day charted when the incident opened.")
    value: float = Field(description="The metric's mean over the out-of-control run.")
    baseline: float = Field(description="The in-control mean (warm-up).")
    sigma: float = Field(description="The in-control standard deviation (warm-up).")
    deviation_sigma: float = Field(description="(value - baseline) / sigma.")
    change_pct: float | None = Field(description="(value - baseline) in % of the baseline.")
    thresholds_version: str
    thresholds_sha256: str
    opened_at: datetime
    opened_by: str
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None

    @classmethod
    def of(cls, found: IncidentInfo) -> IncidentRead:
        return cls.model_validate(
            {name: getattr(found, name) for name in cls.model_fields}, from_attributes=False
        )


class IncidentDetailRead(IncidentRead):
    evidence: list[EvidencePointRead]
    alerts: list[AlertRead]

    @classmethod
    def of(cls, found: IncidentInfo) -> IncidentDetailRead:
        base = {name: getattr(found, name) for name in IncidentRead.model_fields}
        return cls.model_validate(
            {
                **base,
                "evidence": list(found.evidence),
                "alerts": [
                    {
                        "webhook": a.webhook,
                        "attempts": a.attempts,
                        "delivered_at": a.delivered_at,
                        "next_attempt_at": a.next_attempt_at,
                        "last_error": a.last_error,
                    }
                    for a in found.alerts
                ],
            }
        )


class IncidentPageRead(Schema):
    items: list[IncidentRead]
    total: int
    limit: int
    offset: int


class AcknowledgeIn(Schema):
    note: str | None = Field(default=None, max_length=4_000, description="What is being done.")


class ResolveIn(Schema):
    note: str = Field(min_length=1, max_length=4_000, description="Why the incident is closed.")
