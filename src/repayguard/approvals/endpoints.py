"""HTTP endpoints of approvals: thin, they call the same use-cases as ``repayguard approvals``.

The acting operator is always the authenticated principal (never a name in the body): with
``security.auth = off`` there is nobody to hold to the maker-checker rules, so these routes
answer 401 ``operator_required``. Publishing a policy draft lives here too: it asks for
approval instead of publishing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, status

from repayguard.approvals import bulk, queue, service
from repayguard.approvals.kinds import ApprovalContext
from repayguard.approvals.models import KINDS, STATES
from repayguard.approvals.repository import QueueFilter
from repayguard.approvals.schemas import (
    ApprovalPage,
    ApprovalRead,
    ApproveIn,
    BulkApproveIn,
    BulkOutcomeRead,
    PublishRequestIn,
    RefusalRead,
    RejectIn,
    SubmitIn,
    WithdrawIn,
)
from repayguard.errors import ConfigurationInvalid
from repayguard.identity import Caller, Principal, acting_operator
from repayguard.platform.dto import SQL_BIGINT_MAX
from repayguard.platform.uow import UnitOfWorkFactory
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["approvals"])


def _context(request: Request) -> ApprovalContext:
    context: ApprovalContext | None = getattr(request.app.state.container, "approvals", None)
    if context is None:
        raise ConfigurationInvalid("approvals are not wired into this container")
    return context


def _operator(caller: Principal | None) -> str:
    return acting_operator(caller, needed_for="maker-checker")


def _read(found: queue.ApprovalRead) -> ApprovalRead:
    return ApprovalRead.model_validate(found, from_attributes=True)


def _ask(
    request: Request,
    work: UnitOfWorkFactory,
    caller: Principal | None,
    kind: str,
    payload: dict[str, Any],
    *,
    reason: str,
    expires_in_hours: int | None,
) -> ApprovalRead:
    """The caller asks for an approval of ``kind`` and is its maker (never its checker)."""
    lifetime = timedelta(hours=expires_in_hours) if expires_in_hours is not None else None
    made = service.request_approval(
        service.RequestApproval(
            kind,
            payload,
            by=_operator(caller),
            reason=reason,
            expires_in=lifetime,
        ),
        uow=work(),
        context=_context(request),
    )
    return _read(made)


@router.get("/v1/approvals", response_model=ApprovalPage)
def list_queue(
    request: Request,
    work: UnitsOfWork,
    state: Annotated[str, Query(pattern=f"^({'|'.join((*STATES, 'all'))})$")] = "pending",
    kind: Annotated[str | None, Query(pattern=f"^({'|'.join(KINDS)})$")] = None,
    subject: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX)] = 0,
) -> ApprovalPage:
    """The approval queue, oldest first: pending requests unless ``state`` says otherwise."""
    where = QueueFilter(
        state=None if state == "all" else state, kind=kind, subject=subject, category=category
    )
    page = queue.list_requests(where, uow=work(), limit=limit, offset=offset)
    return ApprovalPage(
        items=[_read(r) for r in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/v1/approvals/{request_id}", response_model=ApprovalRead)
def one(request_id: str, request: Request, work: UnitsOfWork) -> ApprovalRead:
    """One request with its pinned payload, its maker and, once decided, its checker."""
    return _read(queue.get_request(request_id, uow=work()))


@router.post("/v1/approvals", response_model=ApprovalRead, status_code=status.HTTP_201_CREATED)
def submit(body: SubmitIn, request: Request, work: UnitsOfWork, caller: Caller) -> ApprovalRead:
    """Ask for an approval; the caller is the maker and can never approve it."""
    return _ask(
        request,
        work,
        caller,
        body.kind,
        body.payload.model_dump(mode="json"),
        reason=body.reason,
        expires_in_hours=body.expires_in_hours,
    )


@router.post(
    "/v1/policies/drafts/{draft_id}/publish",
    response_model=ApprovalRead,
    status_code=status.HTTP_202_ACCEPTED,
    tags=["policies"],
)
def publish(
    draft_id: str, body: PublishRequestIn, request: Request, work: UnitsOfWork, caller: Caller
) -> ApprovalRead:
    """Ask for a draft to be published: 202 with the approval request; a second person's
    approval publishes exactly this draft as the next version."""
    return _ask(
        request,
        work,
        caller,
        "policy_publish",
        {"draft_id": draft_id},
        reason=body.reason,
        expires_in_hours=body.expires_in_hours,
    )


@router.post("/v1/approvals/{request_id}/approve", response_model=ApprovalRead)
def approve(
    request_id: str, body: ApproveIn, request: Request, work: UnitsOfWork, caller: Caller
) -> ApprovalRead:
    """Approve and apply the pinned payload; 403 ``maker_cannot_approve`` for the maker."""
    decided = service.approve(
        service.Approve(request_id, _operator(caller), body.comment),
        uow=work(),
        context=_context(request),
    )
    return _read(decided)


@router.post("/v1/approvals/{request_id}/reject", response_model=ApprovalRead)
def reject(
    request_id: str, body: RejectIn, request: Request, work: UnitsOfWork, caller: Caller
) -> ApprovalRead:
    """Reject with a comment; nothing of the request is applied."""
    decided = service.reject(
        service.Reject(request_id, _operator(caller), body.comment), uow=work()
    )
    return _read(decided)


@router.post("/v1/approvals/{request_id}/withdraw", response_model=ApprovalRead)
def withdraw(
    request_id: str, body: WithdrawIn, request: Request, work: UnitsOfWork, caller: Caller
) -> ApprovalRead:
    """The maker takes back a pending request."""
    done = service.withdraw(
        service.Withdraw(request_id, _operator(caller), body.comment), uow=work()
    )
    return _read(done)


@router.post("/v1/approvals/bulk-approve", response_model=BulkOutcomeRead)
def bulk_approve(
    body: BulkApproveIn, request: Request, work: UnitsOfWork, caller: Caller
) -> BulkOutcomeRead:
    """Approve routine held decisions matching the filter, each on its own; refusals listed."""
    outcome = bulk.bulk_approve(
        bulk.BulkApprove(
            by=_operator(caller),
            comment=body.comment,
            category=body.category,
            subject=body.subject,
            created_before=body.created_before,
            limit=body.limit,
        ),
        uow=work,
        context=_context(request),
    )
    return BulkOutcomeRead(
        approved=[_read(r) for r in outcome.approved],
        refused=[RefusalRead.model_validate(r, from_attributes=True) for r in outcome.refused],
    )
