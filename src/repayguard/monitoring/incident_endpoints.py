"""HTTP endpoints of incidents: thin, they call the same use-cases as
``repayguard incidents``. Reading needs ``incidents:read``; acknowledging and resolving
``incidents:manage``, acting as the authenticated operator."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from repayguard.identity import Caller, acting_operator
from repayguard.monitoring import incidents
from repayguard.monitoring.incident_schemas import (
    AcknowledgeIn,
    IncidentDetailRead,
    IncidentPageRead,
    IncidentRead,
    ResolveIn,
)
from repayguard.platform.dto import SQL_BIGINT_MAX
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["incidents"])

StateFilter = Literal["unresolved", "open", "acknowledged", "resolved", "all"]


@router.get("/v1/incidents", response_model=IncidentPageRead)
def list_incidents(
    request: Request,
    work: UnitsOfWork,
    state: Annotated[StateFilter, Query()] = "unresolved",
    metric: Annotated[str | None, Query(max_length=80)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX)] = 0,
) -> IncidentPageRead:
    """Incidents, newest first (unresolved ones unless ``state`` says otherwise)."""
    page = incidents.list_incidents(
        uow=work(),
        state=None if state == "all" else state,
        metric=metric,
        limit=limit,
        offset=offset,
    )
    return IncidentPageRead(
        items=[IncidentRead.of(i) for i in page.items],
        total=page.total,
        limit=limit,
        offset=offset,
    )


@router.get("/v1/incidents/{incident_id}", response_model=IncidentDetailRead)
def one(incident_id: str, request: Request, work: UnitsOfWork) -> IncidentDetailRead:
    """One incident: what moved, by how much, since when, its evidence chart and alerts."""
    return IncidentDetailRead.of(incidents.get_incident(incident_id, uow=work()))


@router.post("/v1/incidents/{incident_id}/acknowledge", response_model=IncidentRead)
def acknowledge(
    incident_id: str, body: AcknowledgeIn, request: Request, work: UnitsOfWork, caller: Caller
) -> IncidentRead:
    """Say the incident is being looked into."""
    by = acting_operator(caller, needed_for="acknowledging an incident")
    done = incidents.acknowledge_incident(
        incidents.AcknowledgeIncident(incident_id, by, body.note), uow=work()
    )
    return IncidentRead.of(done)


@router.post("/v1/incidents/{incident_id}/resolve", response_model=IncidentRead)
def resolve(
    incident_id: str, body: ResolveIn, request: Request, work: UnitsOfWork, caller: Caller
) -> IncidentRead:
    """Close the incident with a note saying why."""
    by = acting_operator(caller, needed_for="resolving an incident")
    done = incidents.resolve_incident(
        incidents.ResolveIncident(incident_id, by, body.note), uow=work()
    )
    return IncidentRead.of(done)
