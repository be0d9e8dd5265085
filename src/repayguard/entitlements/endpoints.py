"""HTTP endpoints of entitlements: authorize and a borrower's repayment methods."""

from __future__ import annotations

import functools
from datetime import datetime
from time import perf_counter
from typing import Annotated, Final, NamedTuple, Protocol

import orjson
from fastapi import APIRouter, Header, Request

from repayguard.borrowers.errors import BorrowerNotFound
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
from repayguard.entitlements.view import (
    Alternative,
    AuthorizeRequest,
    AuthorizeResult,
    EntitlementView,
    made,
)
from repayguard.platform.clock import Clock
from repayguard.platform.dto import BorrowerKey

router = APIRouter(tags=["entitlements"])
Locale = Annotated[str | None, Header(alias="Accept-Language")]


class AuthorizeMeter(Protocol):
    """Hears every authorize answer: its method, allow or deny, its first reason code (None
    for an answer without one) and the seconds it took (the process's metrics)."""

    def record(self, method: str, allowed: bool, reason: str | None, seconds: float) -> None: ...


def _locale(header: str | None) -> str:
    return "zh-CN" if header and header.lower().startswith("zh") else "en"


def _reasons(codes: tuple[str, ...], locale: str) -> list[ReasonRead]:
    return [ReasonRead(code=r.code, text=r.text) for r in explain(codes, locale)]


def _states(states: MethodStates) -> MethodStatesRead:
    return MethodStatesRead.model_validate(states.as_dict())


@router.post("/v1/authorize", response_model=AuthorizeOut)
def authorize(body: AuthorizeIn, request: Request, accept_language: Locale = None) -> AuthorizeOut:
    """May this borrower repay this way now? Served from memory; never runs the policy."""
    started = perf_counter()
    answer = answer_authorize(
        body, request.app.state.view, request.app.state.clock, locale_of(accept_language)
    )
    meter: AuthorizeMeter | None = request.app.state.authorize_meter
    if meter is not None:
        meter.record(body.method, answer.allowed, first_reason(answer), perf_counter() - started)
    return answer


def first_reason(answer: AuthorizeOut) -> str | None:
    """The leading reason code of an answer (what the metrics label it by), if any."""
    return answer.reasons[0].code if answer.reasons else None


def locale_of(accept_language: str | None) -> str:
    """The language of reason texts: Chinese when the caller asks for it, else English."""
    return _locale(accept_language)


@functools.lru_cache(maxsize=4_096)
def _reason_reads(codes: tuple[str, ...], locale: str) -> tuple[ReasonRead, ...]:
    # A portfolio has a few hundred distinct reason lists; explaining one costs ~3 µs.
    return tuple(_reasons(codes, locale))


@functools.lru_cache(maxsize=1_024)
def _alternative_reads(alternatives: tuple[Alternative, ...]) -> tuple[AlternativeRead, ...]:
    return tuple(AlternativeRead(method=a.method, channel=a.channel) for a in alternatives)


def decide_authorize(body: AuthorizeIn, view: EntitlementView, now: datetime) -> AuthorizeResult:
    """The authorize decision for ``body`` at ``now`` (both paths' one call into the view)."""
    asked = (body.borrower_id, body.method, body.loan_id, body.channel, body.amount)
    return view.authorize(made(AuthorizeRequest, asked), now=now)


def answer_authorize(
    body: AuthorizeIn, view: EntitlementView, clock: Clock, locale: str
) -> AuthorizeOut:
    """The authorize answer as the route returns it."""
    return answer_out(decide_authorize(body, view, clock.now()), locale)


def answer_out(result: AuthorizeResult, locale: str) -> AuthorizeOut:
    # Built from validated parts (cached above), so not validated again: authorize is the
    # hottest call, and this is a third of its cost.
    return AuthorizeOut.model_construct(
        allowed=result.allowed,
        reasons=list(_reason_reads(result.reasons, locale)),
        alternatives=list(_alternative_reads(result.alternatives)),
        decision_id=result.decision_id,
    )


class AnswerJson(NamedTuple):
    """An authorize answer as the bytes of its JSON body, with its first reason code."""

    body: bytes
    first_reason: str | None


def answer_json(result: AuthorizeResult, locale: str) -> AnswerJson:
    """The JSON body of the answer to ``result`` (the fast path's), byte for byte what
    ``answer_out(result, locale).model_dump_json()`` writes.

    Everything but the decision id is shared by many borrowers (a few hundred distinct
    reason and alternative lists in a portfolio), so that part is the model's own dump,
    cached; the decision id, which is unique to a borrower, is the last field and is
    appended. Building the model and dumping it costed more than the rest of the answer.
    """
    head, reason = _answer_head(result.allowed, result.reasons, result.alternatives, locale)
    decision_id = result.decision_id
    return made(AnswerJson, (head + orjson.dumps(decision_id) + b"}", reason))


_NO_DECISION: Final = b"null}"


@functools.lru_cache(maxsize=4_096)
def _answer_head(
    allowed: bool, reasons: tuple[str, ...], alternatives: tuple[Alternative, ...], locale: str
) -> tuple[bytes, str | None]:
    """The answer's JSON up to its decision id (the model's own dump, the id left out), and
    its first reason code."""
    out = answer_out(AuthorizeResult(allowed, reasons, alternatives, None), locale)
    dumped = out.model_dump_json().encode()
    # decision_id is the model's last field: the dump ends with its null and the brace.
    assert dumped.endswith(b'"decision_id":' + _NO_DECISION), dumped
    return dumped[: -len(_NO_DECISION)], first_reason(out)


@router.get("/v1/borrowers/{borrower_id}/repayment-methods", response_model=RepaymentMethodsRead)
def repayment_methods(
    borrower_id: BorrowerKey, request: Request, accept_language: Locale = None
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
