"""HTTP endpoints of complaints: thin, they call the same use-cases as ``repayguard complaints``.

Filing is open to the borrower (their own id only), customer service and admins; the queue
and a case to ``complaints:read``; resolving to ``complaints:resolve``, acting as the
authenticated operator (with access control off there is nobody to hold to maker-checker, so
resolving answers 401 ``operator_required``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, status

from repayguard.complaints import service
from repayguard.complaints.repository import QueueFilter
from repayguard.complaints.resolution import ResolveComplaint, Reversal, resolve_complaint
from repayguard.complaints.review import ComplaintCase, GetComplaint, get_complaint
from repayguard.complaints.schemas import (
    BorrowerComplaintsRead,
    CaseNoticeRead,
    ComplaintCaseRead,
    ComplaintIn,
    ComplaintPageRead,
    ComplaintRead,
    CurrentMethodsRead,
    DecisionLineageRead,
    ReasonTextRead,
    ResolveIn,
)
from repayguard.complaints.service import ComplaintInfo, ComplaintSetup
from repayguard.errors import ConfigurationInvalid
from repayguard.identity import Caller, Principal, acting_operator
from repayguard.notices import DeliveryRead, NoticeInfo
from repayguard.platform.clock import Clock
from repayguard.platform.dto import SQL_BIGINT_MAX, BorrowerKey
from repayguard.platform.records import record_of
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["complaints"])

Locale = Literal["en", "zh-CN"]
StatusFilter = Literal["active", "closed", "all", "open", "reversal_pending", "upheld", "reversed"]


def _setup(request: Request) -> ComplaintSetup:
    setup: ComplaintSetup | None = getattr(request.app.state.container, "complaints", None)
    if setup is None:
        raise ConfigurationInvalid("complaints are not wired into this container")
    return setup


def _principal_kind(caller: Principal | None) -> str | None:
    return getattr(caller, "kind", None)


def _filed_by(caller: Principal | None) -> str:
    if caller is None:
        return "api"
    if caller.kind == "operator":
        return f"operator:{caller.operator_id}"
    return str(caller.kind)


def _read(found: ComplaintInfo, *, operator: bool = True) -> ComplaintRead:
    return ComplaintRead.model_validate(
        {
            "complaint_id": found.complaint_id,
            "borrower_id": found.borrower_id,
            "decision_id": found.decision_id,
            "contested": list(found.contested),
            "status": found.status,
            "filed_by": found.filed_by,
            "filed_at": found.filed_at,
            "due_at": found.due_at,
            "overdue": found.overdue,
            "escalation": found.escalation,
            "escalated_at": found.escalated_at,
            "reviewer_name": found.reviewer_name,
            "comment": found.comment if operator else None,
            "approval_id": found.approval_id,
            "resolved_at": found.resolved_at,
            "notices": [_notice(x, operator=operator) for x in found.notices],
        }
    )


def _notice(sent: NoticeInfo, *, operator: bool) -> CaseNoticeRead:
    return record_of(
        CaseNoticeRead,
        sent,
        deliveries=[DeliveryRead.of(d, operator=operator) for d in sent.deliveries],
    )


@router.post(
    "/v1/borrowers/{borrower_id}/complaints",
    response_model=ComplaintRead,
    status_code=status.HTTP_201_CREATED,
)
def file(
    borrower_id: BorrowerKey, body: ComplaintIn, request: Request, work: UnitsOfWork, caller: Caller
) -> ComplaintRead:
    """File a complaint against one of the borrower's decisions (their latest by default).
    The case gets its SLA deadline; while it is open the policy sees the borrower's open
    appeal; the borrower gets a notice saying it was received (inbox and every channel)."""
    filed = service.file_complaint(
        service.FileComplaint(
            borrower_id=borrower_id,
            statement=body.statement,
            contested=body.contested,
            decision_id=body.decision_id,
            filed_by=_filed_by(caller),
        ),
        uow=work(),
        setup=_setup(request),
    )
    return _read(filed, operator=_principal_kind(caller) != "borrower")


@router.get("/v1/borrowers/{borrower_id}/complaints", response_model=BorrowerComplaintsRead)
def borrower_cases(
    borrower_id: BorrowerKey,
    request: Request,
    work: UnitsOfWork,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=200, description="Newest first.")] = 50,
) -> BorrowerComplaintsRead:
    """A borrower's cases, newest first, with the notices they were sent about each. A
    borrower token reads only its own borrower's cases (never an agent's comment)."""
    found = service.borrower_complaints(borrower_id, uow=work(), limit=limit)
    operator = _principal_kind(caller) != "borrower"
    return BorrowerComplaintsRead(
        borrower_id=borrower_id, complaints=[_read(c, operator=operator) for c in found]
    )


@router.get("/v1/complaints", response_model=ComplaintPageRead)
def queue(
    request: Request,
    work: UnitsOfWork,
    status_: Annotated[StatusFilter, Query(alias="status")] = "active",
    overdue: Annotated[bool, Query(description="Only active cases past their deadline.")] = False,
    escalated: Annotated[bool, Query(description="Only cases escalated at least once.")] = False,
    borrower_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=SQL_BIGINT_MAX)] = 0,
) -> ComplaintPageRead:
    """The complaints queue, nearest deadline first (active cases unless ``status`` says
    otherwise)."""
    where = QueueFilter(
        status=None if status_ == "all" else status_,
        overdue=overdue,
        escalated=escalated,
        borrower_id=borrower_id,
    )
    page = service.list_complaints(where, uow=work(), limit=limit, offset=offset)
    return ComplaintPageRead(
        items=[_read(c) for c in page.items], total=page.total, limit=limit, offset=offset
    )


@router.get("/v1/complaints/{complaint_id}", response_model=ComplaintCaseRead)
def one(
    complaint_id: str,
    request: Request,
    work: UnitsOfWork,
    locale: Annotated[Locale, Query(description="Language of the reason texts.")] = "en",
) -> ComplaintCaseRead:
    """One case for review: the borrower's statement (the reading is audited), the contested
    decision's lineage and explanation, and the borrower's methods now."""
    case = get_complaint(GetComplaint(complaint_id), uow=work(), setup=_setup(request))
    clock: Clock = request.app.state.clock
    return case_read(case, locale=locale, now=clock.now())


@router.post("/v1/complaints/{complaint_id}/resolve", response_model=ComplaintRead)
def resolve(
    complaint_id: str, body: ResolveIn, request: Request, work: UnitsOfWork, caller: Caller
) -> ComplaintRead:
    """Uphold the decision (the case closes), or reverse it: a manual override request the
    caller makes and a second person approves (the case closes as reversed when they do)."""
    given = body.reversal
    reversal = (
        Reversal(
            auto_debit=given.auto_debit,
            early_repayment=given.early_repayment,
            manual=given.manual,
            manual_channels=tuple(given.manual_channels) if given.manual_channels else None,
            days=given.days,
            reasons=tuple(given.reasons),
        )
        if given is not None
        else Reversal()
    )
    by = acting_operator(caller, needed_for="resolving a complaint")
    done = resolve_complaint(
        ResolveComplaint(complaint_id, by, body.outcome, body.comment, reversal),
        uow=work,
        setup=_setup(request),
    )
    return _read(done)


def case_read(case: ComplaintCase, *, locale: str, now: datetime) -> ComplaintCaseRead:
    """The API shape of a case under review."""
    lineage = case.lineage
    decision = None
    if lineage is not None:
        d = lineage.decision
        decision = record_of(
            DecisionLineageRead,
            d,
            states=d.states.as_dict(),
            reasons=[
                ReasonTextRead(code=r.code, text=r.texts.get(locale, r.code), texts=r.texts)
                for r in lineage.reasons
            ],
            explanation=lineage.explanation,
            explained_with=lineage.explained_with,
            note=lineage.note,
        )
    current = None
    if case.current is not None:
        e = case.current
        current = CurrentMethodsRead(
            in_force=e.states_at(now).as_dict(),
            states=e.states.as_dict(),
            effective_at=e.effective_at,
            expires_at=e.expires_at,
            rule_id=e.rule_id,
            decision_id=e.decision_id,
            reasons=list(e.reasons),
        )
    return ComplaintCaseRead(
        complaint=_read(case.complaint),
        statement=case.complaint.statement or "",
        decision=decision,
        current=current,
    )
