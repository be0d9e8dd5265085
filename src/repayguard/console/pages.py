"""Console pages that every operator shares: log in and out, the overview, static assets."""

from __future__ import annotations

import functools
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from repayguard import approvals, complaints
from repayguard.console.web import (
    COOKIE,
    PREFIX,
    form_of,
    principal_of,
    render,
)
from repayguard.entitlements import METHODS, EntitlementView
from repayguard.identity import LogIn, RevokeToken, log_in, revoke_token
from repayguard.identity.errors import LoginFailed, LoginLocked, PasswordRejected
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)
_STATIC: Final = Path(__file__).parent / "static"
_STATE_LABELS: Final = {
    "auto_debit": "Auto-debit",
    "early_repayment": "Early repayment",
    "manual": "Manual repayment",
}


@router.get(f"{PREFIX}/login")
def login_page(request: Request, next: str = f"{PREFIX}/") -> Response:
    return render(request, "login.html", next=_safe_next(next))


@router.post(f"{PREFIX}/login")
async def login(request: Request, work: UnitsOfWork) -> Response:
    form = await form_of(request)
    username, password = form.get("username", "").strip(), form.get("password", "")
    next_page = _safe_next(form.get("next", ""))
    if not username or not password:
        return render(
            request,
            "login.html",
            status_code=422,
            error="Enter your username and your password.",
            username=username,
            next=next_page,
        )
    settings = request.app.state.container.settings.security
    try:
        session = await run_in_threadpool(
            log_in,  # argon2 takes tens of milliseconds on purpose: off the event loop
            LogIn(username, password, lifetime=timedelta(hours=settings.session_hours)),
            uow=work(),
        )
    except (LoginFailed, LoginLocked, PasswordRejected) as refused:
        return render(
            request,
            "login.html",
            status_code=refused.http_status,
            error=refused.message,
            hint=refused.hint,
            username=username,
            next=next_page,
        )
    to = RedirectResponse(next_page, status_code=303)
    to.set_cookie(
        COOKIE,
        session.token.secret,
        max_age=int(settings.session_hours * 3600),
        path=PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return to


@router.post(f"{PREFIX}/logout")
async def logout(request: Request, work: UnitsOfWork) -> Response:
    await form_of(request)
    ended = RevokeToken(principal_of(request).token_id)
    await run_in_threadpool(revoke_token, ended, uow=work(), tokens=request.app.state.tokens)
    to = RedirectResponse(f"{PREFIX}/login", status_code=303)
    to.delete_cookie(COOKIE, path=PREFIX)
    return to


@router.get(PREFIX)
def to_overview() -> Response:
    return RedirectResponse(f"{PREFIX}/", status_code=307)


@router.get(f"{PREFIX}/")
def overview(request: Request, uow: UnitsOfWork) -> Response:
    """What needs attention (pending approvals, complaints near or past their deadline) and
    how the portfolio's repayment methods stand, by risk tier."""
    now: datetime = request.app.state.clock.now()
    pending = approvals.list_requests(approvals.QueueFilter(), uow=uow(), limit=5)
    active = complaints.list_complaints(complaints.QueueFilter(), uow=uow(), limit=5)
    overdue = complaints.list_complaints(
        complaints.QueueFilter(overdue=True), uow=uow(), limit=1
    ).total
    view: EntitlementView | None = request.app.state.view
    census = _census(view, now) if view is not None else None
    return render(
        request,
        "overview.html",
        now=now,
        pending=pending,
        active=active,
        overdue=overdue,
        census=census,
        chart=_chart(census) if census else None,
    )


@router.get(f"{PREFIX}/static/console.css")
def stylesheet() -> Response:
    return _asset("console.css", "text/css")


@router.get(f"{PREFIX}/static/plotly.js")
def plotly_js() -> Response:
    """plotly's JavaScript from the installed package (nothing copied into the repository)."""
    return Response(
        _plotly(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def _asset(name: str, media_type: str) -> Response:
    return Response(
        (_STATIC / name).read_bytes(),
        media_type=media_type,
        headers={"Cache-Control": "public, max-age=3600"},
    )


@functools.cache
def _plotly() -> bytes:
    from plotly.offline import get_plotlyjs  # type: ignore[import-untyped]

    return str(get_plotlyjs()).encode()


def _safe_next(target: str) -> str:
    """Only a console page (never another site) after logging in."""
    if target.startswith(f"{PREFIX}/") and not target.startswith("//") and "\\" not in target:
        return target
    return f"{PREFIX}/"


def _census(view: EntitlementView, now: datetime) -> dict[str, Any]:
    """Borrowers per tier, and how many of each tier have each method off its open state."""
    tiers: Counter[int] = Counter()
    restricted: dict[str, Counter[int]] = {method: Counter() for method in METHODS}
    pending = restricted_any = 0
    for entitlement in view.entitlements():
        tier = entitlement.tier if entitlement.tier is not None else 0
        tiers[tier] += 1
        states = entitlement.states_at(now)
        pending += entitlement.announced_at(now)
        off = states.restricted()
        restricted_any += bool(off)
        for method in off:
            restricted[method][tier] += 1
    return {
        "borrowers": sum(tiers.values()),
        "tiers": sorted(tiers),
        "per_tier": tiers,
        "restricted": restricted,
        "restricted_any": restricted_any,
        "pending": pending,
        "labels": _STATE_LABELS,
    }


def _chart(census: dict[str, Any]) -> dict[str, Any]:
    """A plotly figure (as data): borrowers per tier, with the restricted ones per method."""
    names = [f"T{t}" if t else "not tiered" for t in census["tiers"]]
    traces = [
        {
            "type": "bar",
            "name": "Borrowers",
            "x": names,
            "y": [census["per_tier"][t] for t in census["tiers"]],
            "marker": {"color": "#c8d3e0"},
        }
    ]
    colours = {"auto_debit": "#d9822b", "early_repayment": "#8e44ad", "manual": "#c0392b"}
    for method, label in census["labels"].items():
        traces.append(
            {
                "type": "bar",
                "name": f"{label} restricted",
                "x": names,
                "y": [census["restricted"][method][t] for t in census["tiers"]],
                "marker": {"color": colours[method]},
            }
        )
    layout = {
        "barmode": "group",
        "margin": {"l": 48, "r": 16, "t": 16, "b": 40},
        "height": 320,
        "legend": {"orientation": "h", "y": -0.18},
        "yaxis": {"title": {"text": "borrowers"}},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
    }
    return {"data": traces, "layout": layout}
