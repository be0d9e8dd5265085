"""Hardship pages: the queue by deadline with a form to open a case for a borrower, and one
case for review — its evidence (reading it is recorded on the audit trail), the borrower's
methods now, what the borrower was told — with the close form (granted, declined, withdrawn).
The same use-cases as the API and the CLI run, so the opener never decides their own case."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from repayguard import hardship
from repayguard.console.borrowers import METHOD_LABELS, method_rows
from repayguard.console.web import PREFIX, done, form_of, principal_of, render
from repayguard.errors import ConfigurationInvalid, InvalidInput
from repayguard.identity import acting_operator, caller_of, permissions_of
from repayguard.platform.dto import SQL_BIGINT_MAX
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)

PAGE: Final = 50
STATUSES: Final = ("open", "closed", "all")
REVIEW_PURPOSE: Final = "hardship_review"
REASON_LABELS: Final = {
    "job_loss": "Job loss",
    "illness": "Illness",
    "natural_disaster": "Natural disaster",
    "family_emergency": "Family emergency",
    "other": "Other",
}
OUTCOME_TEXT: Final = {
    "granted": "Granted",
    "declined": "Declined",
    "withdrawn": "Withdrawn",
}


@dataclass(frozen=True, slots=True)
class Queue:
    """The queue's filters as the page's links carry them."""

    status: str = "open"
    overdue: bool = False
    offset: int = 0

    def href(self, **changes: Any) -> str:
        moved = replace(self, **{"offset": 0, **changes})
        query: dict[str, str | int] = {"status": moved.status}
        if moved.overdue:
            query["overdue"] = "true"
        if moved.offset:
            query["offset"] = moved.offset
        return f"{PREFIX}/hardship?{urlencode(query)}"


@router.get(f"{PREFIX}/hardship")
def queue(
    request: Request,
    work: UnitsOfWork,
    status: str = "open",
    overdue: bool = False,
    offset: Annotated[int, Query(le=SQL_BIGINT_MAX)] = 0,
) -> Response:
    """Cases nearest their deadline first, the overdue ones marked; the open form for agents."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    filters = Queue(status, overdue, max(offset, 0))
    where = hardship.HardshipFilter(status=None if status == "all" else status, overdue=overdue)
    page = hardship.list_hardship(where, uow=work(), limit=PAGE, offset=filters.offset)
    return render(
        request,
        "hardship.html",
        page=page,
        q=filters,
        statuses=STATUSES,
        size=PAGE,
        reasons=REASON_LABELS,
        may_open="hardship:open" in permissions_of(principal_of(request)),
        now=request.app.state.clock.now(),
    )


@router.post(f"{PREFIX}/hardship")
async def open_case(request: Request, work: UnitsOfWork) -> Response:
    """Open a case for a borrower, as the signed-in agent."""
    form = await form_of(request)
    command = hardship.OpenHardship(
        form.get("borrower_id", "").strip(),
        form.get("reason", ""),
        form.get("evidence", ""),
        operator_id=acting_operator(caller_of(request), needed_for="opening a hardship case"),
    )
    opened = await run_in_threadpool(
        hardship.open_hardship, command, uow=work(), setup=_setup(request)
    )
    return done(
        f"{PREFIX}/hardship/{opened.case_id}",
        f"Case {opened.case_id[:8]} is open for {opened.borrower_id}; the borrower was told. "
        "Another agent reviews and closes it.",
    )


@router.get(f"{PREFIX}/hardship/{{case_id}}")
def case(request: Request, work: UnitsOfWork, case_id: str) -> Response:
    """One case with its evidence and the close form for those who may."""
    held = permissions_of(principal_of(request))
    found = hardship.get_hardship(
        hardship.GetHardship(case_id, reveal=True, purpose=REVIEW_PURPOSE),
        uow=work(),
        setup=_setup(request),
    )
    now = request.app.state.clock.now()
    current = found.current.states_at(now) if found.current is not None else None
    principal = principal_of(request)
    opener = f"operator:{principal.operator_id}" == found.case.opened_by
    return render(
        request,
        "hardship_case.html",
        c=found.case,
        entitlement=found.current,
        methods=method_rows(current) if current is not None else [],
        channels=current.manual_channels if current is not None else (),
        may_close=found.case.status == "open" and "hardship:review" in held,
        opener=opener,
        reasons=REASON_LABELS,
        outcomes=OUTCOME_TEXT,
        labels=METHOD_LABELS,
        now=now,
    )


@router.post(f"{PREFIX}/hardship/{{case_id}}/close")
async def close(request: Request, work: UnitsOfWork, case_id: str) -> Response:
    """Close the case; the borrower is told and decided afresh."""
    form = await form_of(request)
    command = hardship.CloseHardship(
        case_id,
        acting_operator(caller_of(request), needed_for="closing a hardship case"),
        form.get("outcome", ""),
        form.get("note", ""),
    )
    closed = await run_in_threadpool(
        hardship.close_hardship, command, uow=work(), setup=_setup(request)
    )
    return done(
        f"{PREFIX}/hardship/{closed.case_id}",
        f"{OUTCOME_TEXT.get(closed.status, closed.status)}: case {closed.case_id[:8]} is "
        "closed. The borrower is sent the outcome in their language, and their methods are "
        "decided afresh.",
    )


def _setup(request: Request) -> hardship.HardshipSetup:
    setup: hardship.HardshipSetup | None = getattr(request.app.state.container, "hardship", None)
    if setup is None:
        raise ConfigurationInvalid("hardship cases are not wired into this container")
    return setup
