"""What every console page shares: the session cookie, CSRF tokens, the template environment,
and turning errors into pages.

A console session is an operator session token (``identity.log_in``) held in an HttpOnly,
SameSite=Strict cookie scoped to ``/console``. The API's access guard reads it for console
paths only, so console pages go through the same permission map as every API route. Every form
that changes something carries a CSRF token — an HMAC of the session's token id under a key
derived from ``security.secret_key`` — checked before anything runs; a request whose ``Origin``
is another site is refused too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import parse_qs, quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from repayguard.errors import InvalidInput, PermissionDenied, RepayguardError
from repayguard.identity import Principal, permissions_of

COOKIE: Final = "rg_console"
PREFIX: Final = "/console"
_TEMPLATES: Final = Path(__file__).parent / "templates"

# What the navigation shows, and the permission each entry needs.
NAVIGATION: Final = (
    ("Overview", f"{PREFIX}/", "console:view"),
    ("Approvals", f"{PREFIX}/approvals", "approvals:read"),
    ("Complaints", f"{PREFIX}/complaints", "complaints:read"),
    ("Hardship", f"{PREFIX}/hardship", "hardship:read"),
    ("Incidents", f"{PREFIX}/incidents", "incidents:read"),
    ("Borrowers", f"{PREFIX}/borrowers", "console:view"),
    ("Policies", f"{PREFIX}/policies", "policies:read"),
    ("Shadow", f"{PREFIX}/shadow", "policies:read"),
    ("Simulations", f"{PREFIX}/simulations", "policies:read"),
    ("Monitoring", f"{PREFIX}/monitoring", "monitoring:read"),
    ("Audit", f"{PREFIX}/audit", "audit:read"),
)


@dataclass(frozen=True, slots=True)
class Console:
    """Built once per application (``app.state.console``)."""

    env: Environment
    csrf_key: bytes
    session_hours: float

    @classmethod
    def build(cls, *, csrf_key: bytes, session_hours: float) -> Console:
        env = Environment(
            loader=FileSystemLoader(_TEMPLATES),
            autoescape=select_autoescape(["html"]),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["when"] = _when
        env.filters["ago"] = _ago
        return cls(env, csrf_key, session_hours)

    def csrf(self, principal: Principal) -> str:
        mac = hmac.new(self.csrf_key, principal.token_id.encode(), hashlib.sha256)
        return mac.hexdigest()[:40]


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def principal_of(request: Request) -> Principal:
    """The operator the access guard resolved for this page."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        if request.app.state.tokens is None:
            raise PermissionDenied(
                "the console needs access control: with security.auth = off nobody is logged "
                "in, so nobody can be held to maker-checker",
                hint="serve with REPAYGUARD_SECURITY__AUTH=required (the default)",
            )
        raise PermissionDenied("the console needs an operator session", hint="log in first")
    return principal


def render(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    """A page in the console's layout, with the navigation the caller may use."""
    console = console_of(request)
    principal: Principal | None = getattr(request.state, "principal", None)
    held = permissions_of(principal) if principal is not None else frozenset()
    page = console.env.get_template(template).render(
        request=request,
        principal=principal,
        navigation=[(label, href) for label, href, need in NAVIGATION if need in held],
        current=request.url.path,
        csrf=console.csrf(principal) if principal is not None else "",
        flash=request.query_params.get("done"),
        csp_nonce=getattr(request.state, "csp_nonce", ""),
        **context,
    )
    return HTMLResponse(page, status_code=status_code)


async def form_of(request: Request) -> dict[str, str]:
    """A submitted form (``application/x-www-form-urlencoded``), checked against CSRF: a browser
    -sent ``Origin`` must be this site, and a request authenticated by the session cookie must
    carry this session's token (a bearer token is never sent by a browser on its own)."""
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise PermissionDenied("the form was sent from another site")
    try:
        text = (await request.body()).decode()
    except UnicodeDecodeError:  # a browser sends the page's forms in UTF-8
        raise InvalidInput("the form is not UTF-8 text", hint="send it from the page") from None
    fields = {k: v[-1] for k, v in parse_qs(text).items()}
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is not None and getattr(request.state, "by_cookie", False):
        expected = console_of(request).csrf(principal)
        if not hmac.compare_digest(fields.get("csrf", ""), expected):
            raise PermissionDenied(
                "the form has expired or did not come from this console",
                hint="reload the page and send it again",
            )
    return fields


def done(path: str, message: str) -> RedirectResponse:
    """After a change, back to a page that says what happened (post/redirect/get)."""
    return RedirectResponse(f"{path}?done={quote(message)}", status_code=303)


def login_redirect(request: Request) -> RedirectResponse:
    back = request.url.path if request.method == "GET" else f"{PREFIX}/"
    return RedirectResponse(f"{PREFIX}/login?next={quote(back)}", status_code=303)


def error_page(request: Request, exc: RepayguardError) -> Response:
    return render(
        request,
        "error.html",
        status_code=exc.http_status,
        title=exc.code.replace("_", " ").capitalize(),
        message=exc.message,
        hint=exc.hint,
    )


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def _ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "—"
    seconds = (now - moment).total_seconds()
    future = seconds < 0
    seconds = abs(seconds)
    for size, unit in ((86_400, "day"), (3_600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            text = f"{count} {unit}{'s' if count != 1 else ''}"
            return f"in {text}" if future else f"{text} ago"
    return "just now"
