"""Borrower pages: find a borrower by id, the borrowers under restriction or with an announced
change, and one borrower's view — the methods in force and why (en and zh-CN), the latest
decisions with their lineage and, each behind its own permission, the notices sent, the
complaints filed and the masked profile. Nothing here reveals personal data."""

from __future__ import annotations

import heapq
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from repayguard import complaints, decisions, entitlements, notices
from repayguard.borrowers import BorrowerProfile, ReadProfile, read_profile
from repayguard.borrowers.errors import BorrowerNotFound, BorrowerProfileNotFound
from repayguard.console.web import PREFIX, principal_of, render
from repayguard.core.policy.counterfactual import WHY_NONE
from repayguard.core.policy.outcome import OPEN
from repayguard.core.reasons import UnknownReasonCode, explain, principal
from repayguard.decisions import LoggedDecision
from repayguard.entitlements import METHODS, Entitlement, EntitlementView, MethodStates
from repayguard.identity import permissions_of
from repayguard.platform.uow import UnitOfWork, UnitOfWorkFactory
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["console"], default_response_class=HTMLResponse, include_in_schema=False)

LISTED: Final = 50
"""Borrowers the watch list shows: a short list to start from, not a report."""
DECISIONS_SHOWN: Final = 10
NOTICES_SHOWN: Final = 20
COMPLAINTS_SHOWN: Final = 20
PROFILE_PURPOSE: Final = "console_borrower_view"
"""Why the masked profile is read (the reading is on the audit trail with it)."""
METHOD_LABELS: Final = {
    "auto_debit": "Auto-debit",
    "early_repayment": "Early repayment",
    "manual": "Manual repayment",
    "manual_channels": "Manual channels",
}


@dataclass(frozen=True, slots=True)
class MethodRow:
    """One method's state as a person reads it; ``usable`` is its open (standard) state."""

    method: str
    label: str
    state: str
    usable: bool


@dataclass(frozen=True, slots=True)
class ReasonRow:
    """A reason in both languages a borrower may read it in."""

    code: str
    en: str
    zh: str


@dataclass(frozen=True, slots=True)
class Change:
    """One method that changes when an announced change takes effect."""

    label: str
    now: str
    then: str


@dataclass(frozen=True, slots=True)
class Watched:
    """A borrower on the watch list: what is restricted now and what is announced."""

    borrower_id: str
    tier: int | None
    restricted: list[MethodRow]
    changes: list[Change]
    effective_at: datetime
    announced: bool
    reasons: list[ReasonRow]


def method_rows(states: MethodStates) -> list[MethodRow]:
    """The three methods of ``states``, labelled, each marked usable or restricted."""
    return [
        MethodRow(m, METHOD_LABELS[m], getattr(states, m), getattr(states, m) == OPEN[m])
        for m in METHODS
    ]


def reason_rows(codes: Sequence[str]) -> list[ReasonRow]:
    """The principal reasons (G6: at most four) in en and zh-CN; a code outside the catalog (a
    model's own column) shows as itself rather than failing the page."""
    return [ReasonRow(code, _text(code, "en"), _text(code, "zh-CN")) for code in principal(codes)]


def _text(code: str, locale: str) -> str:
    try:
        return explain([code], locale)[0].text
    except UnknownReasonCode:
        return code


def changes_between(now: MethodStates, then: MethodStates) -> list[Change]:
    """What moves when the announced states replace the ones in force."""
    moved = [
        Change(METHOD_LABELS[m], getattr(now, m), getattr(then, m))
        for m in METHODS
        if getattr(now, m) != getattr(then, m)
    ]
    if now.manual_channels != then.manual_channels:
        moved.append(
            Change(
                METHOD_LABELS["manual_channels"],
                ", ".join(now.manual_channels) or "none",
                ", ".join(then.manual_channels) or "none",
            )
        )
    return moved


@router.get(f"{PREFIX}/borrowers")
def search(
    request: Request, work: UnitsOfWork, q: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """Find a borrower by exact id, or start from the borrowers under restriction."""
    wanted = q.strip()
    if wanted and _decided(work(), wanted):
        return RedirectResponse(f"{PREFIX}/borrowers/{quote(wanted, safe='')}", status_code=303)
    view: EntitlementView | None = request.app.state.view
    now: datetime = request.app.state.clock.now()
    watched, total = watch_list(view.entitlements(), now) if view is not None else ([], 0)
    return render(
        request,
        "borrowers.html",
        q=wanted,
        missing=wanted or None,
        watched=watched,
        total=total,
        loaded=view is not None,
        size=LISTED,
        now=now,
    )


def watch_list(entries: Iterable[Entitlement], now: datetime) -> tuple[list[Watched], int]:
    """Borrowers with a method off its standard state now (the overview's count) or with an
    announced change; the latest ``LISTED`` by effective time (announced changes, which take
    effect later, first), and how many there are in all."""
    matching = [e for e in entries if e.announced_at(now) or e.states_at(now).restricted()]
    latest = heapq.nlargest(LISTED, matching, key=lambda e: (e.effective_at, e.borrower_id))
    return [_watched(e, now) for e in latest], len(matching)


def _watched(entitlement: Entitlement, now: datetime) -> Watched:
    in_force = entitlement.states_at(now)
    pending = entitlement.announced_at(now)
    return Watched(
        borrower_id=entitlement.borrower_id,
        tier=entitlement.tier,
        restricted=[row for row in method_rows(in_force) if not row.usable],
        changes=changes_between(in_force, entitlement.states) if pending else [],
        effective_at=entitlement.effective_at,
        announced=pending,
        reasons=reason_rows(entitlement.reasons),
    )


@router.get(f"{PREFIX}/borrowers/{{borrower_id}}")
def borrower(request: Request, uow: UnitsOfWork, borrower_id: str) -> Response:
    """One borrower: methods and reasons, decisions with lineage, and what the operator's
    permissions let them see besides (notices, complaints, the masked profile)."""
    caller = principal_of(request)
    held = permissions_of(caller)
    now: datetime = request.app.state.clock.now()
    entitlement, recent = snapshot(uow(), borrower_id, limit=DECISIONS_SHOWN)
    if entitlement is None and not recent:
        raise BorrowerNotFound(
            f"no borrower {borrower_id} has been decided",
            hint="check the id on the Borrowers page (ids are matched exactly); a borrower "
            "appears once their events are ingested and decided ('repayguard decide --all')",
        )
    return render(
        request,
        "borrower.html",
        borrower_id=borrower_id,
        e=entitlement,
        **standing(entitlement, now),
        decisions=[_decision(d, entitlement) for d in recent],
        outlook=_outlook(request, uow, borrower_id) if entitlement is not None else None,
        notices=_notices(uow(), borrower_id) if "notices:read" in held else None,
        cases=complaints.borrower_complaints(borrower_id, uow=uow(), limit=COMPLAINTS_SHOWN)
        if "complaints:read" in held
        else None,
        show_profile="profiles:read" in held,
        profile=_profile(request, uow, borrower_id) if "profiles:read" in held else None,
        labels=METHOD_LABELS,
        now=now,
    )


def standing(entitlement: Entitlement | None, now: datetime) -> dict[str, Any]:
    """What the borrower may use now, the change announced (if a notice period runs), and
    why; all empty for a borrower whose first decision waits for approval."""
    if entitlement is None:
        return {"methods": [], "channels": (), "changes": [], "reasons": []}
    in_force = entitlement.states_at(now)
    pending = entitlement.announced_at(now)
    return {
        "methods": method_rows(in_force),
        "channels": in_force.manual_channels,
        "changes": changes_between(in_force, entitlement.states) if pending else [],
        "reasons": reason_rows(entitlement.reasons),
    }


def snapshot(
    uow: UnitOfWork, borrower_id: str, *, limit: int
) -> tuple[Entitlement | None, list[LoggedDecision]]:
    """The borrower's entitlement (as stored: the view serves the same) and latest decisions,
    read in one transaction so the page never shows a decision newer than its methods."""
    with uow:
        found = entitlements.load(uow.session, [borrower_id]).get(borrower_id)
        return found, decisions.recent_decisions(uow.session, borrower_id, limit=limit)


def _decided(uow: UnitOfWork, borrower_id: str) -> bool:
    """Whether the borrower was ever decided (the same test the borrower page makes)."""
    found, recent = snapshot(uow, borrower_id, limit=1)
    return found is not None or bool(recent)


def _decision(decision: LoggedDecision, entitlement: Entitlement | None) -> dict[str, Any]:
    return {
        "d": decision,
        "methods": method_rows(decision.states),
        "reasons": reason_rows(decision.reasons),
        "in_force": entitlement is not None and entitlement.decision_id == decision.decision_id,
        "inputs": json.dumps(
            decision.inputs, indent=2, ensure_ascii=False, sort_keys=True, default=str
        ),
    }


def _outlook(request: Request, work: UnitOfWorkFactory, borrower_id: str) -> dict[str, Any]:
    """What would loosen the methods in force, as the borrower API gives it."""
    found = decisions.what_would_change(
        borrower_id, uow=work(), engine=request.app.state.container.decision_engine
    )
    why = found.counterfactual.why_none
    return {
        "suggestions": [a.as_dict() for a in found.counterfactual.alternatives],
        "why": WHY_NONE[why]["en"] if why else None,
    }


def _notices(uow: UnitOfWork, borrower_id: str) -> list[notices.NoticeInfo]:
    return notices.list_notices(notices.ListNotices(borrower_id, limit=NOTICES_SHOWN), uow=uow)


def _profile(request: Request, work: UnitOfWorkFactory, borrower_id: str) -> BorrowerProfile | None:
    """The masked profile (never revealed on this page), None when there is none on file."""
    try:
        return read_profile(
            ReadProfile(borrower_id, reveal=False, purpose=PROFILE_PURPOSE),
            uow=work(),
            keyring=request.app.state.keyring,
        )
    except BorrowerProfileNotFound:
        return None
