"""Shadow page: the challenger policy evaluated beside production, how often and how it
disagrees, and the borrowers behind the latest disagreements — through the same use-cases as
``repayguard shadow`` and ``GET /v1/shadow/*``."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from repayguard import shadow
from repayguard.console.web import PREFIX, render

router = APIRouter(tags=["console"], default_response_class=HTMLResponse)
PAGE: Final = 50


@router.get(f"{PREFIX}/shadow")
def shadow_page(
    request: Request, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> Response:
    """The challenger, its disagreement counts and transitions, a page of disagreements."""
    uow = request.app.state.uow
    report = shadow.summary(uow=uow())
    rows = shadow.list_disagreements(uow=uow(), limit=PAGE, offset=offset)
    share = report.differing / report.compared if report.compared else 0.0
    return render(
        request,
        "shadow.html",
        report=report,
        share=share,
        rows=rows,
        offset=offset,
        page=PAGE,
        now=request.app.state.clock.now(),
    )
