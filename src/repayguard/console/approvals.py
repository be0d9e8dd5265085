"""The approvals inbox: the queue by kind and state, one request with its pinned payload, and
approve / reject with a comment — through the same use-cases as the API and the CLI, so the
maker-checker rules (never one's own request, exactly the payload pinned) hold here too.

Form handlers are async (they read the body) and run the use-case in the thread pool, so a
database write never holds up the event loop; the audit actor set by the access guard travels
with the context into that thread."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from repayguard import approvals
from repayguard.approvals.models import KINDS, STATES
from repayguard.console.web import PREFIX, done, form_of, principal_of, render
from repayguard.errors import InvalidInput
from repayguard.identity import acting_operator, caller_of, role_allows
from repayguard.platform.dto import SQL_BIGINT_MAX
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)
PAGE: Final = 50


@router.get(f"{PREFIX}/approvals")
def inbox(
    request: Request,
    work: UnitsOfWork,
    state: str = "pending",
    kind: str | None = None,
    offset: Annotated[int, Query(le=SQL_BIGINT_MAX)] = 0,
) -> Response:
    if state not in (*STATES, "all"):
        raise InvalidInput(f"state must be one of {', '.join((*STATES, 'all'))}")
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    where = approvals.QueueFilter(state=None if state == "all" else state, kind=kind)
    page = approvals.list_requests(where, uow=work(), limit=PAGE, offset=max(offset, 0))
    principal = principal_of(request)
    routine = kind == approvals.BULK_KIND and state == "pending" and page.total > 0
    return render(
        request,
        "approvals.html",
        page=page,
        bulk=routine and role_allows(principal.role or "", "approvals:decide"),
        categories=sorted({r.category for r in page.items}),
        state=state,
        kind=kind,
        kinds=KINDS,
        states=(*STATES, "all"),
        offset=max(offset, 0),
        size=PAGE,
        now=request.app.state.clock.now(),
    )


@router.post(f"{PREFIX}/approvals/bulk-approve")
async def bulk_approve(request: Request, work: UnitsOfWork) -> Response:
    """Approve the routine held decisions the checker was shown: one policy row (category),
    only requests made before the page was drawn, each in its own transaction."""
    form = await form_of(request)
    try:
        seen = datetime.fromisoformat(form.get("seen_at", ""))
        limit = int(form.get("limit", "0"))
    except ValueError:
        raise InvalidInput("the bulk approval form is incomplete; reload the page") from None
    outcome = await run_in_threadpool(
        approvals.bulk_approve,
        approvals.BulkApprove(
            by=_operator(request),
            comment=form.get("comment", ""),
            category=form.get("category") or None,
            created_before=seen,
            limit=limit,
        ),
        uow=work,
        context=request.app.state.container.approvals,
    )
    told = f"Approved {len(outcome.approved)} held decision(s)."
    if outcome.refused:
        first = outcome.refused[0]
        told += f" {len(outcome.refused)} refused, e.g. {first.request_id[:8]}: {first.message}"
    back = f"{PREFIX}/approvals?kind={approvals.BULK_KIND}"
    return done(back, told)


@router.get(f"{PREFIX}/approvals/{{request_id}}")
def one(request: Request, work: UnitsOfWork, request_id: str) -> Response:
    found = approvals.get_request(request_id, uow=work())
    principal = principal_of(request)
    own = principal.operator_id is not None and principal.operator_id == found.maker_id
    return render(
        request,
        "approval.html",
        r=found,
        payload=json.dumps(found.payload, indent=2, ensure_ascii=False, sort_keys=True),
        outcome=json.dumps(found.outcome, indent=2, ensure_ascii=False, sort_keys=True)
        if found.outcome
        else None,
        may_decide=found.state == "pending"
        and not own
        and role_allows(principal.role or "", "approvals:decide"),
        own=own,
        now=request.app.state.clock.now(),
    )


@router.post(f"{PREFIX}/approvals/{{request_id}}/approve")
async def approve(request: Request, work: UnitsOfWork, request_id: str) -> Response:
    form = await form_of(request)
    await run_in_threadpool(
        approvals.approve,
        approvals.Approve(request_id, _operator(request), form.get("comment", "")),
        uow=work(),
        context=request.app.state.container.approvals,
    )
    return done(f"{PREFIX}/approvals", f"Approved and applied request {request_id[:8]}.")


@router.post(f"{PREFIX}/approvals/{{request_id}}/reject")
async def reject(request: Request, work: UnitsOfWork, request_id: str) -> Response:
    form = await form_of(request)
    await run_in_threadpool(
        approvals.reject,
        approvals.Reject(request_id, _operator(request), form.get("comment", "")),
        uow=work(),
    )
    return done(f"{PREFIX}/approvals", f"Rejected request {request_id[:8]}; nothing applied.")


def _operator(request: Request) -> str:
    return acting_operator(caller_of(request), needed_for="maker-checker")
