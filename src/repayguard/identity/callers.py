"""Who calls an API route: the principal ``api/security.guard`` resolved for the request (a
FastAPI dependency, ``caller: Caller``), and the operator a use-case that must name its actor
(maker-checker) acts as."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from repayguard.identity.errors import OperatorRequired
from repayguard.identity.permissions import Principal


def caller_of(request: Request) -> Principal | None:
    """The request's caller as the app-wide ``guard`` dependency resolved it (it runs before
    a route's own dependencies); None with access control off."""
    principal: Principal | None = getattr(request.state, "principal", None)
    return principal


Caller = Annotated[Principal | None, Depends(caller_of)]
"""A route parameter ``caller: Caller`` receives who calls."""


def acting_operator(caller: Principal | None, *, needed_for: str) -> str:
    """The operator id of the caller. Raises OperatorRequired (401) for any other caller — a
    service or borrower token, or nobody when access control is off — since ``needed_for``
    (what the route does) has to hold a named operator to its rules."""
    operator_id = getattr(caller, "operator_id", None)
    if getattr(caller, "kind", None) != "operator" or not operator_id:
        raise OperatorRequired(
            f"{needed_for} needs to know which operator acts",
            hint="call with an operator's token (security.auth = required)",
        )
    return str(operator_id)
