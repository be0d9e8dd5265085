"""HTTP endpoints of notices: the borrower's inbox (thin; the service does the work)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request

from repayguard.core.reasons import CATALOG
from repayguard.identity import Caller
from repayguard.notices.schemas import DeliveryRead, NoticePage, NoticeRead, NoticeReasonRead
from repayguard.notices.service import ListNotices, list_notices
from repayguard.platform.dto import BorrowerKey
from repayguard.platform.records import record_of
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["notices"])


@router.get("/v1/borrowers/{borrower_id}/notices", response_model=NoticePage)
def borrower_notices(
    borrower_id: BorrowerKey,
    request: Request,
    uow: UnitsOfWork,
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=200, description="Newest first, at most this many.")] = 50,
    kind: Annotated[
        Literal[
            "advance",
            "explanation",
            "restoration",
            "withdrawal",
            "complaint_received",
            "complaint_resolved",
            "hardship_opened",
            "hardship_closed",
            "remedy_apology",
        ]
        | None,
        Query(description="Only notices of this kind."),
    ] = None,
) -> NoticePage:
    """The borrower's in-app inbox: every notice they were sent, in their language, and how
    each was delivered. A borrower token reads only its own borrower's notices."""
    operator = caller is None or caller.kind == "operator"
    found = list_notices(ListNotices(borrower_id, limit=limit, kind=kind), uow=uow())
    return NoticePage(
        borrower_id=borrower_id,
        notices=[
            record_of(
                NoticeRead,
                n,
                reasons=[
                    NoticeReasonRead(code=code, text=CATALOG.get(code, {}).get(n.locale, code))
                    for code in n.reasons
                ],
                changes=list(n.changes),
                what_would_change=list(n.what_would_change),
                deliveries=[DeliveryRead.of(d, operator=operator) for d in n.deliveries],
            )
            for n in found
        ],
    )
