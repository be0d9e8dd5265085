"""The messages incidents emit: ``repayguard.monitoring.incident_*`` (also audit actions).

:class:`IncidentOpened` is also the body of the alert webhooks, so its fields are exactly the
contract receivers read; the ``subject`` the audit trail files an incident under is added to
the message payload only, derived from the incident's id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from repayguard.platform.messages import Fact, JSONValue


def _with_subject(incident_id: str, payload: dict[str, JSONValue]) -> dict[str, JSONValue]:
    return {"subject": f"incident:{incident_id}", **payload}


@dataclass(frozen=True, slots=True)
class IncidentOpened(Fact):
    """A metric left control (payload version 1): ``deviation_sigma`` is signed (negative
    for a fall), ``since`` the first out-of-control day (ISO date)."""

    NAME = "repayguard.monitoring.incident_opened"

    incident_id: str
    metric: str
    segment: str
    direction: str
    detector: str
    deviation_sigma: float
    change_pct: float | None
    since: str
    value: float
    baseline: float
    thresholds_version: str

    def payload(self) -> dict[str, JSONValue]:
        return _with_subject(self.incident_id, Fact.payload(self))


@dataclass(frozen=True, slots=True)
class IncidentStep(Fact):
    """An incident acknowledged or resolved (payload version 1), by whom."""

    incident_id: str
    metric: str
    segment: str
    state: str
    by: str

    def payload(self) -> dict[str, JSONValue]:
        return _with_subject(self.incident_id, Fact.payload(self))


@dataclass(frozen=True, slots=True)
class IncidentAcknowledged(IncidentStep):
    NAME = "repayguard.monitoring.incident_acknowledged"


@dataclass(frozen=True, slots=True)
class IncidentResolved(IncidentStep):
    NAME = "repayguard.monitoring.incident_resolved"


INCIDENT_OPENED: Final = IncidentOpened.NAME
INCIDENT_ACKNOWLEDGED: Final = IncidentAcknowledged.NAME
INCIDENT_RESOLVED: Final = IncidentResolved.NAME
