"""Shadow page: the challenger policy evaluated beside production, how often and how it
disagrees, restriction rates by group (from borrower profiles), and the borrowers behind the
latest disagreements — through the same use-cases as
``repayguard shadow`` and ``GET /v1/shadow/*``."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from repayguard import shadow
from repayguard.console.web import PREFIX, render
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)
PAGE: Final = 50


@router.get(f"{PREFIX}/shadow")
def shadow_page(
    request: Request, uow: UnitsOfWork, offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0
) -> Response:
    """The challenger, its disagreement counts and transitions, a page of disagreements."""
    settings = request.app.state.container.settings.fairness
    groups = shadow.profile_attributes(
        uow=uow(), keyring=request.app.state.keyring, on=request.app.state.clock.now().date()
    )
    report = shadow.summary(
        uow=uow(),
        attributes=groups if shadow.stated(groups) else None,
        groups=settings.protected_attributes,
        threshold=settings.max_disparity_ratio,
    )
    by_group = []
    if report.fairness is not None:
        after = {
            (r["attribute"], r["group"]): r for r in report.fairness.candidate.iter_rows(named=True)
        }
        by_group = [
            (r, after[(r["attribute"], r["group"])])
            for r in report.fairness.champion.iter_rows(named=True)
        ]
    rows = shadow.list_disagreements(uow=uow(), limit=PAGE, offset=offset)
    share = report.differing / report.compared if report.compared else 0.0
    return render(
        request,
        "shadow.html",
        report=report,
        share=share,
        by_group=by_group,
        rows=rows,
        offset=offset,
        page=PAGE,
        now=request.app.state.clock.now(),
    )
