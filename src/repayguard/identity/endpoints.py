"""HTTP endpoints of identity: password login opens a session, logout ends it."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from pydantic import Field

from repayguard.errors import InvalidInput
from repayguard.identity.callers import Caller
from repayguard.identity.passwords import LogIn, log_in
from repayguard.identity.service import RevokeToken, revoke_token
from repayguard.platform.dto import Schema
from repayguard.platform.web import UnitsOfWork

router = APIRouter(tags=["identity"])


class LoginIn(Schema):
    username: str = Field(
        min_length=1, max_length=64, description="The operator's login name.", examples=["cara"]
    )
    password: str = Field(
        min_length=1,
        max_length=256,
        description="The operator's password.",
        examples=["a long and private passphrase"],
    )


class SessionOut(Schema):
    token: str = Field(description="Bearer token of the session; shown this once.")
    token_id: str = Field(
        description="The session token's id (what audit records and revocation name).",
        examples=["tok_3f9a"],
    )
    expires_at: datetime | None = Field(
        description="When the session ends by itself.", examples=["2026-03-01T20:00:00Z"]
    )
    username: str = Field(description="The operator logged in.", examples=["cara"])
    role: str = Field(description="The operator's role.", examples=["cs_agent"])


@router.post("/v1/sessions", response_model=SessionOut, status_code=201)
def start_session(body: LoginIn, request: Request, uow: UnitsOfWork) -> SessionOut:
    """Log in with a password: the answer's token acts as the operator until it expires."""
    hours: float = request.app.state.container.settings.security.session_hours
    session = log_in(
        LogIn(body.username, body.password, lifetime=timedelta(hours=hours)), uow=uow()
    )
    return SessionOut(
        token=session.token.secret,
        token_id=session.token.token_id,
        expires_at=session.token.expires_at,
        username=session.operator.username,
        role=session.operator.role,
    )


@router.delete("/v1/sessions/current", status_code=204)
def end_session(request: Request, uow: UnitsOfWork, caller: Caller) -> Response:
    """Log out: the token that made this call stops working at once."""
    if caller is None or caller.kind != "operator":
        raise InvalidInput("this call carries no operator session to end")
    revoke_token(RevokeToken(caller.token_id), uow=uow(), tokens=request.app.state.tokens)
    return Response(status_code=204)
