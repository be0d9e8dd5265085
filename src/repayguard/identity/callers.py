"""Who calls an API route: the principal ``api/security.guard`` resolved for the request, and
the operator a use-case that must name its actor (maker-checker) acts as."""

from __future__ import annotations

from typing import TYPE_CHECKING

from repayguard.errors import OperatorRequired

if TYPE_CHECKING:
    from fastapi import Request


def acting_operator(request: Request, *, needed_for: str) -> str:
    """The operator id of the request's caller. Raises OperatorRequired (401) for any other
    caller — a service or borrower token, or nobody when access control is off — since
    ``needed_for`` (what the route does) has to hold a named operator to its rules."""
    principal = getattr(request.state, "principal", None)
    operator_id = getattr(principal, "operator_id", None)
    if getattr(principal, "kind", None) != "operator" or not operator_id:
        raise OperatorRequired(
            f"{needed_for} needs to know which operator acts",
            hint="call with an operator's token (security.auth = required)",
        )
    return str(operator_id)
