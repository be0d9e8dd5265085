"""HTTP endpoints of remedies: a case's remedies (``complaints:read``)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from repayguard.platform.web import UnitsOfWork
from repayguard.remedies.schemas import RemedyPage, RemedyRead
from repayguard.remedies.service import ListRemedies, RemedyInfo, list_remedies

router = APIRouter(tags=["remedies"])


def remedy_read(found: RemedyInfo) -> RemedyRead:
    return RemedyRead.model_validate(
        {
            "remedy_id": found.remedy_id,
            "complaint_id": found.complaint_id,
            "borrower_id": found.borrower_id,
            "kind": found.kind,
            "amount": found.amount,
            "amount_minor": found.amount_minor,
            "currency": found.currency,
            "state": found.state,
            "basis": found.basis,
            "maker_name": found.maker_name,
            "approval_id": found.approval_id,
            "decided_by": found.decided_by,
            "created_at": found.created_at,
            "decided_at": found.decided_at,
            "exported_at": found.exported_at,
        }
    )


@router.get("/v1/complaints/{complaint_id}/remedies", response_model=RemedyPage)
def of_case(complaint_id: str, request: Request, factory: UnitsOfWork) -> RemedyPage:
    """The remedies recorded when the case was reversed — refunds, a bureau correction, the
    apology — with their approval and export to the lender's ledger (empty until then)."""
    found = list_remedies(ListRemedies(complaint_id), uow=factory())
    return RemedyPage(complaint_id=complaint_id, remedies=[remedy_read(r) for r in found])
