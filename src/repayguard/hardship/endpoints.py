"""HTTP endpoints of hardship cases: thin, they call the same use-cases as
``repayguard hardship``.

Opening is open to the borrower (their own id only), customer service and admins; the queue
and a case to ``hardship:read``; closing to ``hardship:review``, acting as the authenticated
operator (with access control off there is nobody to hold to the opener rule, so closing
answers 401 ``operator_required``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from repayguard.errors import ConfigurationInvalid
from repayguard.hardship import service
from repayguard.hardship.repository import HardshipFilter
from repayguard.hardship.schemas import (
    BorrowerHardshipRead,
    CloseIn,
    HardshipCaseRead,
    HardshipIn,
    HardshipNoticeRead,
    HardshipPageRead,
    HardshipRead,
)
from repayguard.hardship.service import HardshipInfo, HardshipSetup
from repayguard.identity import Caller, Principal, acting_operator
from repayguard.notices import DeliveryRead
from repayguard.platform.clock import Clock
from repayguard.platform.dto import SQL_BIGINT_MAX, BorrowerKey
from repayguard.platform.records import record_of
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["hardship"])

StatusFilter = Literal["open", "closed", "all", "granted", "declined", "withdrawn"]


def _setup(request: Request) -> HardshipSetup:
    setup: HardshipSetup | None = getattr(request.app.state.container, "hardship", None)
    if setup is None:
        raise ConfigurationInvalid("hardship cases are not wired into this container")
    return setup


def _is_operator(caller: Principal | None) -> bool:
    return getattr(caller, "kind", None) != "borrower"


def hardship_read(found: HardshipInfo, *, operator: bool = True) -> HardshipRead:
    """The API shape of a case; a borrower sees their deliveries without operator detail."""
    return HardshipRead.model_validate(
        {
            "case_id": found.case_id,
            "borrower_id": found.borrower_id,
            "reason": found.reason,
            "status": found.status,
            "opened_by": found.opened_by,
            "opened_at": found.opened_at,
            "due_at": found.due_at,
            "overdue": found.overdue,
            "escalation": found.escalation,
            "escalated_at": found.escalated_at,
            "reviewer_name": found.reviewer_name,
            "closed_at": found.closed_at,
            "notices": [
                record_of(
                    HardshipNoticeRead,
                    n,
                    deliveries=[DeliveryRead.of(d, operator=operator) for d in n.deliveries],
                )
                for n in found.notices
            ],
        }
    )


@router.post(
    "/v1/borrowers/{borrower_id}/hardship",
    response_model=HardshipRead,
    status_code=status.HTTP_201_CREATED,
)
def open_case(
    borrower_id: BorrowerKey, body: HardshipIn, request: Request, work: UnitsOfWork, caller: Caller
) -> HardshipRead:
    """Ask for hardship relief. The case gets its SLA deadline; while it is open the policy
    sees the borrower's open hardship case; the borrower gets a notice saying it was
    received. An operator's token opens it for the borrower (that operator never decides it)."""
    operator_id = getattr(caller, "operator_id", None)
    opened = service.open_hardship(
        service.OpenHardship(
            borrower_id=borrower_id,
            reason=body.reason,
            evidence=body.evidence,
            operator_id=operator_id if getattr(caller, "kind", None) == "operator" else None,
        ),
        uow=work(),
        setup=_setup(request),
    )
    return hardship_read(opened, operator=_is_operator(caller))


@router.get("/v1/borrowers/{borrower_id}/hardship", response_model=BorrowerHardshipRead)
def borrower_cases(
    borrower_id: BorrowerKey,
    request: Request,
    work: UnitsOfWork,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=200, description="Newest first.")] = 50,
) -> BorrowerHardshipRead:
    """A borrower's hardship cases, newest first, with the notices they were sent about each.
    A borrower token reads only its own borrower's cases."""
    found = service.borrower_hardship(borrower_id, uow=work(), limit=limit)
    operator = _is_operator(caller)
    return BorrowerHardshipRead(
        borrower_id=borrower_id, cases=[hardship_read(c, operator=operator) for c in found]
    )


@router.get("/v1/hardship", response_model=HardshipPageRead)
def queue(
    request: Request,
    work: UnitsOfWork,
    status_: Annotated[StatusFilter, Query(alias="status")] = "open",
    overdue: Annotated[bool, Query(description="Only open cases past their deadline.")] = False,
    borrower_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX)] = 0,
) -> HardshipPageRead:
    """The hardship queue, nearest deadline first (open cases unless ``status`` says
    otherwise)."""
    where = HardshipFilter(
        status=None if status_ == "all" else status_, overdue=overdue, borrower_id=borrower_id
    )
    page = service.list_hardship(where, uow=work(), limit=limit, offset=offset)
    return HardshipPageRead(
        items=[hardship_read(c) for c in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/v1/hardship/{case_id}", response_model=HardshipCaseRead)
def one(case_id: str, request: Request, work: UnitsOfWork) -> HardshipCaseRead:
    """One case for review: its evidence and note (the reading is audited) and the
    borrower's methods in force."""
    found = service.get_hardship(service.GetHardship(case_id), uow=work(), setup=_setup(request))
    clock: Clock = request.app.state.clock
    current = found.current
    return HardshipCaseRead(
        case=hardship_read(found.case),
        evidence=found.case.evidence or "",
        note=found.case.note,
        methods_now=current.states_at(clock.now()).as_dict() if current is not None else None,
    )


@router.post("/v1/hardship/{case_id}/close", response_model=HardshipRead)
def close(
    case_id: str, body: CloseIn, request: Request, work: UnitsOfWork, caller: Caller
) -> HardshipRead:
    """Close the case as granted, declined or withdrawn, with a note; the borrower is told and
    decided afresh. The operator who opened the case may only record a withdrawal."""
    by = acting_operator(caller, needed_for="closing a hardship case")
    done = service.close_hardship(
        service.CloseHardship(case_id, by, body.outcome, body.note),
        uow=work(),
        setup=_setup(request),
    )
    return hardship_read(done)
