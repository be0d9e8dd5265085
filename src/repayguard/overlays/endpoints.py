"""HTTP endpoints of playbooks and overlays: thin, the same use-cases as the CLI.

Wiring read from ``app.state``: ``uow`` (unit-of-work factory).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, status

from repayguard import policies
from repayguard.identity import Caller, Principal
from repayguard.identity.callers import acting_operator
from repayguard.overlays import service
from repayguard.overlays.schemas import (
    OverlayArm,
    OverlayLift,
    OverlayRead,
    PlaybookRead,
    PlaybookSubmit,
)
from repayguard.platform.dto import SQL_INTEGER_MAX
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["overlays"])


def _operator(caller: Principal | None, needed_for: str) -> tuple[str, str]:
    """The acting operator's id and name (overlays name who armed, reviewed or lifted)."""
    operator_id = acting_operator(caller, needed_for=needed_for)
    name = getattr(caller, "username", None) or operator_id
    return operator_id, str(name)


@router.get("/v1/playbooks", response_model=list[PlaybookRead])
def list_playbooks(request: Request, work: UnitsOfWork) -> list[PlaybookRead]:
    """Every playbook version, drafts and approved."""
    with work() as uow:
        return service.list_playbooks(uow.session)


@router.get("/v1/playbooks/{name}/{version}", response_model=PlaybookRead)
def show_playbook(
    name: str,
    version: Annotated[int, Path(ge=1, le=SQL_INTEGER_MAX, description="The playbook version.")],
    request: Request,
    work: UnitsOfWork,
) -> PlaybookRead:
    with work() as uow:
        return service.find_playbook(uow.session, name, version)


@router.post("/v1/playbooks", response_model=PlaybookRead, status_code=status.HTTP_201_CREATED)
def submit_playbook(
    body: PlaybookSubmit, request: Request, work: UnitsOfWork, caller: Caller
) -> PlaybookRead:
    """Store a playbook draft (checked against every listed jurisdiction profile); a second
    person approves it with an approval request of kind ``playbook_approve``."""
    _, name = _operator(caller, "submitting a playbook")
    return service.submit_playbook(
        service.SubmitPlaybook(body.document, by=name),
        uow=work(),
        profiles=policies.profiles(),
    )


@router.get("/v1/overlays", response_model=list[OverlayRead])
def list_overlays(
    request: Request,
    work: UnitsOfWork,
    active: Annotated[bool, Query(description="Only armed or reviewed.")] = False,
) -> list[OverlayRead]:
    with work() as uow:
        return service.list_overlays(uow.session, active_only=active)


@router.post("/v1/overlays", response_model=OverlayRead, status_code=status.HTTP_201_CREATED)
def arm_overlay(
    body: OverlayArm, request: Request, work: UnitsOfWork, caller: Caller
) -> OverlayRead:
    """Arm an approved playbook now: its segment is re-decided at once, without notice period."""
    operator_id, name = _operator(caller, "arming an overlay")
    return service.arm_overlay(
        service.ArmOverlay(
            playbook=body.playbook,
            version=body.version,
            reason=body.reason,
            armed_by=name,
            armed_by_id=operator_id,
        ),
        uow=work(),
        profiles=policies.profiles(),
    )


@router.post("/v1/overlays/{overlay_id}/lift", response_model=OverlayRead)
def lift_overlay(
    overlay_id: str, body: OverlayLift, request: Request, work: UnitsOfWork, caller: Caller
) -> OverlayRead:
    """End an overlay; methods restore through a re-decision, with restoration notices."""
    _, name = _operator(caller, "lifting an overlay")
    return service.lift_overlay(
        service.LiftOverlay(overlay_id, by=name, reason=body.reason), uow=work()
    )


@router.post("/v1/overlays/{overlay_id}/review", response_model=OverlayRead)
def review_overlay(
    overlay_id: str, request: Request, work: UnitsOfWork, caller: Caller
) -> OverlayRead:
    """The after-the-fact review by a second person (never whoever armed it)."""
    operator_id, name = _operator(caller, "reviewing an overlay")
    return service.review_overlay(
        service.ReviewOverlay(overlay_id, reviewer=name, reviewer_id=operator_id),
        uow=work(),
    )
