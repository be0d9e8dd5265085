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

    day: date = Field(description="The day.")
    value: float = Field(description="The metric's value that day.")
    up: float | None = Field(description="The upward detector statistic (null in warm-up).")
    down: float | None = Field(description="The downward detector statistic (null in warm-up).")
    upper: float | None = Field(description="The upper control limit (null in warm-up).")
    lower: float | None = Field(description="The lower control limit (null in warm-up).")
    alarm: bool = Field(description="Whether the day was out of control.")


class AlertRead(Schema):
    webhook: str = Field(description="The alert webhook's name.")
    attempts: int = Field(description="Delivery attempts so far.")
    delivered_at: datetime | None = Field(description="When it was delivered, if it was.")
    next_attempt_at: datetime | None = Field(description="Null once delivered or given up.")
    last_error: str | None = Field(description="Why the last attempt failed, if it did.")


class IncidentRead(Schema):
    incident_id: str = Field(description="The incident's id.")
    metric: str = Field(description="The metric out of control.")
    segment: str = Field(description="The borrower segment (all for the whole book).")
    detector: Literal["ewma", "cusum"] = Field(description="The detector that raised it.")
    direction: Literal["up", "down"] = Field(description="Which way the metric moved.")
    state: State = Field(description="open, acknowledged or resolved.")
    since_day: date = Field(description="First day of the out-of-control run.")
    last_day: date = Field(description="Newest day charted when the incident opened.")
    value: float = Field(description="The metric's mean over the out-of-control run.")
    baseline: float = Field(description="The in-control mean (warm-up).")
    sigma: float = Field(description="The in-control standard deviation (warm-up).")
    deviation_sigma: float = Field(description="(value - baseline) / sigma.")
    change_pct: float | None = Field(description="(value - baseline) in % of the baseline.")
    thresholds_version: str = Field(description="The thresholds file version it was judged by.")
    thresholds_sha256: str = Field(description="SHA-256 of that thresholds file.")
    opened_at: datetime = Field(description="When it was opened.")
    opened_by: str = Field(description="Who or what opened it.")
    acknowledged_at: datetime | None = Field(description="When it was acknowledged.")
    acknowledged_by: str | None = Field(description="Who acknowledged it.")
    resolved_at: datetime | None = Field(description="When it was resolved.")
    resolved_by: str | None = Field(description="Who resolved it.")
    note: str | None = Field(description="The note given when it was resolved.")

    @classmethod
    def of(cls, found: IncidentInfo) -> IncidentRead:
        return cls.model_validate(
            {name: getattr(found, name) for name in cls.model_fields}, from_attributes=False
        )


class IncidentDetailRead(IncidentRead):
    evidence: list[EvidencePointRead] = Field(description="The charted days behind it.")
    alerts: list[AlertRead] = Field(description="The alerts sent about it.")

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
    items: list[IncidentRead] = Field(description="This page of incidents.")
    total: int = Field(description="Incidents matching the filter, over all pages.")
    limit: int = Field(description="The page size asked for.")
    offset: int = Field(description="How many matching incidents come before this page.")


class AcknowledgeIn(Schema):
    note: str | None = Field(default=None, max_length=4_000, description="What is being done.")


class ResolveIn(Schema):
    note: str = Field(min_length=1, max_length=4_000, description="Why the incident is closed.")
