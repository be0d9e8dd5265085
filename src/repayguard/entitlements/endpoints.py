"""HTTP endpoints of entitlements: authorize and a borrower's repayment methods."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from repayguard.core.reasons import explain
from repayguard.entitlements.schemas import (
    AlternativeRead,
    AuthorizeIn,
    AuthorizeOut,
    MethodStatesRead,
    PendingChangeRead,
    ReasonRead,
    RepaymentMethodsRead,
)
from repayguard.entitlements.states import MethodStates
from repayguard.entitlements.view import AuthorizeRequest, EntitlementView
from repayguard.errors import BorrowerNotFound
from repayguard.platform.clock import Clock

router = APIRouter(tags=["entitlements"])
Locale = Annotated[str | None, Header(alias="Accept-Language")]


def _locale(header: str | None) -> str:
    return "zh-CN" if header and header.lower().startswith("zh") else "en"


def _reasons(codes: tuple[str, ...], locale: str) -> list[ReasonRead]:
    return [ReasonRead(code=r.code, text=r.text) for r in explain(codes, locale)]


def _states(states: MethodStates) -> MethodStatesRead:
    return MethodStatesRead.model_validate(states.as_dict())


@router.post("/v1/authorize", response_model=AuthorizeOut)
def authorize(body: AuthorizeIn, request: Request, accept_language: Locale = None) -> AuthorizeOut:
    """May this borrower repay this way now? Served from memory; never runs the policy."""
    view: EntitlementView = request.app.state.view
    clock: Clock = request.app.state.clock
    result = view.authorize(
        AuthorizeRequest(
            borrower_id=body.borrower_id,
            method=body.method,
            loan_id=body.loan_id,
            channel=body.channel,
            amount=body.amount,
        ),
        now=clock.now(),
    )
    return AuthorizeOut(
        allowed=result.allowed,
        reasons=_reasons(result.reasons, _locale(accept_language)),
        alternatives=[
            AlternativeRead(method=a.method, channel=a.channel) for a in result.alternatives
        ],
        decision_id=result.decision_id,
    )


@router.get("/v1/borrowers/{borrower_id}/repayment-methods", response_model=RepaymentMethodsRead)
def repayment_methods(
    borrower_id: str, request: Request, accept_language: Locale = None
) -> RepaymentMethodsRead:
    """The borrower's methods in force, any announced change, and the reasons."""
    view: EntitlementView = request.app.state.view
    clock: Clock = request.app.state.clock
    entitlement = view.get(borrower_id)
    if entitlement is None:
        raise BorrowerNotFound(
            f"no decision has been made for borrower {borrower_id!r} yet",
            hint="ingest the borrower's events, or run 'repayguard decide --all'",
        )
    now = clock.now()
    in_force = entitlement.states_at(now)
    pending = (
        PendingChangeRead(states=_states(entitlement.states), effective_at=entitlement.effective_at)
        if in_force != entitlement.states
        else None
    )
    return RepaymentMethodsRead(
        borrower_id=borrower_id,
        methods=_states(in_force),
        pending=pending,
        reasons=_reasons(entitlement.reasons, _locale(accept_language)),
        tier=f"T{entitlement.tier}" if entitlement.tier else None,
        decision_id=entitlement.decision_id,
        rule_id=entitlement.rule_id,
        effective_at=entitlement.effective_at,
        expires_at=entitlement.expires_at,
        review_at=entitlement.review_at,
    )
