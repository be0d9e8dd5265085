"""HTTP endpoints of shadow mode: thin, they call the same use-cases as ``repayguard shadow``.

Wiring read from ``app.state``: ``uow`` (unit-of-work factory).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from repayguard.platform.web import UnitsOfWork
from repayguard.shadow import service
from repayguard.shadow.fairness import profile_attributes, stated

router = APIRouter(tags=["shadow"])


@router.get("/v1/shadow/summary")
def shadow_summary(request: Request, uow: UnitsOfWork) -> dict[str, Any]:
    """The challenger in effect and how often, and how, it disagrees with production; with
    restriction rates by group (from borrower profiles) when any profile states a group."""
    settings = request.app.state.container.settings.fairness
    groups = profile_attributes(
        uow=uow(), keyring=request.app.state.keyring, on=request.app.state.clock.now().date()
    )
    report = service.summary(
        uow=uow(),
        attributes=groups if stated(groups) else None,
        groups=settings.protected_attributes,
        threshold=settings.max_disparity_ratio,
    )
    c = report.challenger
    return {
        "challenger": None
        if c is None
        else {
            "name": c.name,
            "version": c.version,
            "content_hash": c.content_hash,
            "set_by": c.set_by,
            "set_at": c.set_at.isoformat(),
        },
        "compared": report.compared,
        "differing": report.differing,
        "borrowers": report.borrowers,
        "transitions": [
            {"method": m, "production": a, "challenger": b, "decisions": n}
            for m, a, b, n in report.transitions
        ],
        "fairness": None
        if report.fairness is None
        else report.fairness.as_dict(before="production", after="challenger"),
    }


@router.get("/v1/shadow/disagreements")
def shadow_disagreements(
    request: Request,
    work: UnitsOfWork,
    limit: Annotated[int, Query(ge=1, le=1_000)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """The latest decisions where the challenger differs, both outcomes side by side."""
    rows = service.list_disagreements(uow=work(), limit=limit, offset=offset)
    return {"disagreements": [{**r, "as_of": r["as_of"].isoformat()} for r in rows]}
