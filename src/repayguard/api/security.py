"""API access control: every route is looked up in the permission map before it runs."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from repayguard.api.ratelimit import AUTHORIZE_ROUTE, RateLimiter, enforce, login_class
from repayguard.audit import set_actor
from repayguard.console import COOKIE as CONSOLE_COOKIE
from repayguard.console import PREFIX as CONSOLE_PREFIX
from repayguard.core.articles import with_article
from repayguard.errors import PermissionDenied
from repayguard.identity import PUBLIC, ROUTES, Principal, TokenResolver, TokenUsage, allows
from repayguard.identity.errors import TokenInvalid

ANONYMOUS_ACTOR: Final = "api:unauthenticated"
"""The audit actor of a request made while access control is off (a local trial)."""

bearer = HTTPBearer(auto_error=False, description="An API token from 'repayguard token create'.")


def guard(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """App-wide dependency: resolve the caller, count the call against its rate limit
    (api/ratelimit.py) and check the route's permission.

    A route missing from the map is closed (a test keeps the map complete). With
    ``security.auth = off`` (a local trial) every call is let through as is.
    """
    # The matched route's template (its router's own prefix included). Routers are included
    # into the app without an extra prefix, so this is the published path; the access test
    # compares the map with the OpenAPI paths and would catch a mismatch.
    route = request.scope.get("route")
    path = route.path if isinstance(route, APIRoute) else request.url.path
    permission = ROUTES.get((request.method, path))
    if permission is None:
        raise PermissionDenied(f"{request.method} {path} is not in the permission map")
    resolver: TokenResolver | None = request.app.state.tokens
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if permission == PUBLIC or resolver is None:
        route_class = login_class(request.method, path)
        if limiter is not None and route_class is not None:
            address = request.client.host if request.client is not None else "unknown"
            enforce(limiter, request.scope.setdefault("state", {}), route_class, address)
        return
    secret, by_cookie = _secret(request, credentials)
    if secret is None:
        raise TokenInvalid(
            "this endpoint needs an API token (Authorization: Bearer …)",
            hint="create one with 'repayguard token create'",
        )
    usage: TokenUsage | None = request.app.state.token_usage
    route_name = f"{request.method} {path}"
    try:
        principal: Principal = resolver.resolve(secret)
    except TokenInvalid:
        if usage is not None:
            usage.record_rejected(route_name)
        if limiter is not None:
            # A token that resolves to nobody is a guess until shown otherwise: it spends the
            # address's login budget, so guessing tokens is as slow as guessing passwords.
            address = request.client.host if request.client is not None else "unknown"
            enforce(limiter, request.scope.setdefault("state", {}), "login", address)
        raise
    if limiter is not None:
        route_class = "authorize" if (request.method, path) == AUTHORIZE_ROUTE else "api"
        enforce(limiter, request.scope.setdefault("state", {}), route_class, principal.token_id)
    borrower_id = request.path_params.get("borrower_id")
    allowed = allows(principal, permission, borrower_id=borrower_id)
    if usage is not None:
        usage.record(principal, route_name, allowed=allowed)
    if not allowed:
        raise PermissionDenied(
            f"{with_article(principal.role or principal.kind)} token may not "
            f"{request.method} {path}"
            + (" for another borrower" if principal.kind == "borrower" else "")
        )
    request.state.principal = principal
    request.state.by_cookie = by_cookie  # the console checks CSRF tokens on such requests


async def attribute(request: Request) -> None:
    """App-wide dependency after :func:`guard`: attribute what the request commits to its
    caller in the audit trail. It is async on purpose: it runs in the request's own context,
    which the worker thread of a synchronous endpoint inherits."""
    principal: Principal | None = getattr(request.state, "principal", None)
    set_actor(principal.label if principal is not None else ANONYMOUS_ACTOR)


def _secret(
    request: Request, credentials: HTTPAuthorizationCredentials | None
) -> tuple[str | None, bool]:
    """The bearer token; on console pages, the session cookie when no bearer token is sent
    (the cookie is scoped to the console and never accepted by the API's own routes). The
    flag says the cookie it was: a credential the browser sends by itself, hence CSRF."""
    if credentials is not None and credentials.scheme.lower() == "bearer":
        return credentials.credentials, False
    path = request.url.path
    if path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/"):
        cookie = request.cookies.get(CONSOLE_COOKIE)
        return cookie, cookie is not None
    return None, False
