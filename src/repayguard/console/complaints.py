"""Complaint pages: the queue by deadline, and one case for review — the borrower's statement
(reading it is recorded on the audit trail), the contested decision's lineage and explanation,
what the borrower was told — with uphold / reverse through the same use-cases as the API and
the CLI, so a reversal is an override request that a second person approves (maker-checker)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Annotated, Any, Final, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from repayguard import complaints, remedies
from repayguard.console.borrowers import METHOD_LABELS, ReasonRow, method_rows
from repayguard.console.web import PREFIX, done, form_of, principal_of, render
from repayguard.core.policy.counterfactual import WHY_NONE, changes_of
from repayguard.core.policy.outcome import RANK
from repayguard.errors import ConfigurationInvalid, InvalidInput
from repayguard.identity import acting_operator, caller_of, permissions_of
from repayguard.platform.dto import SQL_BIGINT_MAX
from repayguard.platform.web import UnitsOfWork

REMEDY_LABELS: Final = {
    "fee_refund": "Refund of failed-debit fees and penalties",
    "early_repayment_refund": "Refund of interest (early repayment was blocked)",
    "bureau_correction": "Credit-bureau correction of a late mark",
    "apology": "Apology notice",
}
"""How the case page names each kind of remedy."""

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)

PAGE: Final = 50
STATUSES: Final = ("active", "open", "closed", "all")
"""The queue's status filters: active (open or waiting for a reversal's approval), open
(waiting for an agent), closed (upheld or reversed), all."""
REVIEW_PURPOSE: Final = "complaint_review"
CHANNEL_FIELD: Final = "channel."
"""Form fields ``channel.<name>`` tick the manual channels a reversal sets (one field per
channel: a console form keeps only one value per name)."""
MAX_DAYS: Final = 365


@dataclass(frozen=True, slots=True)
class Queue:
    """The queue's filters as the page's links carry them."""

    status: str = "active"
    overdue: bool = False
    escalated: bool = False
    offset: int = 0

    def href(self, **changes: Any) -> str:
        """A link to the queue with ``changes`` applied (back to the first page unless an
        offset is given)."""
        moved = replace(self, **{"offset": 0, **changes})
        query: dict[str, str | int] = {"status": moved.status}
        if moved.overdue:
            query["overdue"] = "true"
        if moved.escalated:
            query["escalated"] = "true"
        if moved.offset:
            query["offset"] = moved.offset
        return f"{PREFIX}/complaints?{urlencode(query)}"


@router.get(f"{PREFIX}/complaints")
def queue(
    request: Request,
    work: UnitsOfWork,
    status: str = "active",
    overdue: bool = False,
    escalated: bool = False,
    offset: Annotated[int, Query(le=SQL_BIGINT_MAX)] = 0,
) -> Response:
    """Cases nearest their deadline first, the overdue ones marked."""
    if status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}")
    filters = Queue(status, overdue, escalated, max(offset, 0))
    where = complaints.QueueFilter(
        status=None if status == "all" else status, overdue=overdue, escalated=escalated
    )
    page = complaints.list_complaints(where, uow=work(), limit=PAGE, offset=filters.offset)
    return render(
        request,
        "complaints.html",
        page=page,
        q=filters,
        statuses=STATUSES,
        size=PAGE,
        labels=METHOD_LABELS,
        now=request.app.state.clock.now(),
    )


@router.get(f"{PREFIX}/complaints/{{complaint_id}}")
def case(request: Request, work: UnitsOfWork, complaint_id: str) -> Response:
    """One case with everything a reviewer needs, and the resolve form for those who may."""
    held = permissions_of(principal_of(request))
    setup = _setup(request)
    found = complaints.get_complaint(
        complaints.GetComplaint(complaint_id, reveal=True, purpose=REVIEW_PURPOSE),
        uow=work(),
        setup=setup,
    )
    now = request.app.state.clock.now()
    current = found.current.states_at(now) if found.current is not None else None
    return render(
        request,
        "complaint.html",
        c=found.complaint,
        statement=found.complaint.statement or "",
        lineage=_lineage(found.lineage) if found.lineage is not None else None,
        entitlement=found.current,
        methods=method_rows(current) if current is not None else [],
        channels=current.manual_channels if current is not None else (),
        may_resolve=found.complaint.status == "open" and "complaints:resolve" in held,
        choices={m: tuple(states) for m, states in RANK.items()},
        offered=tuple(setup.engine().policy.channels),
        reversal_days=setup.reversal_days,
        channel_field=CHANNEL_FIELD,
        labels=METHOD_LABELS,
        now=now,
        remedies=remedies.list_remedies(remedies.ListRemedies(complaint_id), uow=work()),
        remedy_labels=REMEDY_LABELS,
    )


@router.post(f"{PREFIX}/complaints/{{complaint_id}}/resolve")
async def resolve(request: Request, work: UnitsOfWork, complaint_id: str) -> Response:
    """Uphold (the case closes) or reverse (an override request waits for a checker)."""
    form = await form_of(request)
    outcome = _outcome(form.get("outcome", ""))
    reversal = reversal_of(form) if outcome == "reverse" else complaints.Reversal()
    command = complaints.ResolveComplaint(
        complaint_id,
        acting_operator(caller_of(request), needed_for="resolving a complaint"),
        outcome,
        form.get("comment", ""),
        reversal,
    )
    # Two or three transactions (a reversal asks approvals first): off the event loop, in a
    # worker thread that inherits the request's audit actor.
    resolved = await run_in_threadpool(
        complaints.resolve_complaint, command, uow=work, setup=_setup(request)
    )
    return done(f"{PREFIX}/complaints/{resolved.complaint_id}", what_happened(resolved))


def what_happened(resolved: complaints.ComplaintInfo) -> str:
    """The flash after resolving: what was done, and what happens next."""
    case_no = resolved.complaint_id[:8]
    if resolved.status == "upheld":
        return (
            f"Upheld: the decision stands and case {case_no} is closed. The borrower is sent "
            "the outcome in their language."
        )
    if resolved.status == "reversal_pending":
        return (
            f"Reversal requested: override request {(resolved.approval_id or '')[:8]} now "
            "waits for a second person's approval. The case closes as reversed once it is "
            "approved; if it is rejected or expires, the case opens again."
        )
    if resolved.status == "reversed":
        return f"Reversed: the override was approved and applied; case {case_no} is closed."
    return f"Case {case_no} is now {resolved.status.replace('_', ' ')}."


def reversal_of(form: Mapping[str, str]) -> complaints.Reversal:
    """What the reversing override sets, from the form: a field left empty keeps the default
    (the methods in force with the contested ones open again, for ``reversal_days``)."""
    channels = tuple(
        key.removeprefix(CHANNEL_FIELD)
        for key, value in form.items()
        if key.startswith(CHANNEL_FIELD) and value
    )
    codes = tuple(form.get("reasons", "").replace(",", " ").split())
    return complaints.Reversal(
        auto_debit=_state(form, "auto_debit"),
        early_repayment=_state(form, "early_repayment"),
        manual=_state(form, "manual"),
        manual_channels=channels or None,
        days=_days(form.get("days", "")),
        reasons=codes or complaints.Reversal().reasons,
    )


def _outcome(given: str) -> Literal["uphold", "reverse"]:
    if given == "uphold":
        return "uphold"
    if given == "reverse":
        return "reverse"
    raise InvalidInput(
        "choose whether the decision is upheld or reversed",
        hint="pick 'Uphold' or 'Reverse' on the case page and send the form again",
    )


def _state(form: Mapping[str, str], method: str) -> str | None:
    given = form.get(method, "").strip()
    if not given:
        return None
    if given not in RANK[method]:
        raise InvalidInput(
            f"{METHOD_LABELS[method].lower()} cannot be set to {given!r}",
            hint=f"one of {', '.join(RANK[method])}, or leave it at the default",
        )
    return given


def _days(given: str) -> int | None:
    if not given.strip():
        return None
    try:
        days = int(given)
    except ValueError:
        days = 0
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(
            f"the override lasts 1 to {MAX_DAYS} days, not {given!r}",
            hint="leave it empty for the default",
        )
    return days


def _lineage(lineage: complaints.DecisionLineage) -> dict[str, Any]:
    """The contested decision as the template shows it: reasons in both languages, the trace
    of the policy and what would have changed the outcome."""
    decision = lineage.decision
    explanation = lineage.explanation or {}
    return {
        "d": decision,
        "methods": method_rows(decision.states),
        "reasons": [
            ReasonRow(r.code, r.texts.get("en", r.code), r.texts.get("zh-CN", r.code))
            for r in lineage.reasons
        ],
        "rows": explanation.get("rows", []),
        "alternatives": [
            {**w, "changes": changes_of(w)} for w in explanation.get("what_would_change", [])
        ],
        "why_none": WHY_NONE.get(explanation.get("why_none") or "", {}).get("en"),
        "explained": lineage.explanation is not None,
        "explained_with": lineage.explained_with,
        "note": lineage.note,
        "inputs": json.dumps(
            decision.inputs, indent=2, ensure_ascii=False, sort_keys=True, default=str
        ),
    }


def _setup(request: Request) -> complaints.ComplaintSetup:
    setup: complaints.ComplaintSetup | None = getattr(
        request.app.state.container, "complaints", None
    )
    if setup is None:
        raise ConfigurationInvalid("complaints are not wired into this container")
    return setup
