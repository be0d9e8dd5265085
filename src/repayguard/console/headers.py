"""Security headers: a Content-Security-Policy for the console, and the headers that keep its
pages out of frames and stop browsers guessing content types.

Every console page gets a fresh nonce (``request.state.csp_nonce``, which the templates put on
their inline ``<script>`` elements); scripts run only from the console itself or with that
nonce, nothing can frame a page (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``), forms
post only to the console's own origin, and no plugin, ``<base>`` or foreign connection is
allowed. Styles allow ``'unsafe-inline'``: plotly draws its charts with inline styles (no script
can be injected through a style). A page whose inline scripts are fixed in advance (a
simulation's offline report) is answered with their hashes instead (:func:`script_hashes`).

Every response, API ones included, carries ``X-Content-Type-Options: nosniff``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable, MutableMapping
from typing import Any, Final

Scope = MutableMapping[str, Any]

CONSOLE_PREFIX: Final = "/console"
CSP: Final = b"content-security-policy"
_NOSNIFF: Final = (b"x-content-type-options", b"nosniff")
_FRAMES: Final = (b"x-frame-options", b"DENY")
_REFERRER: Final = (b"referrer-policy", b"same-origin")
_INLINE_SCRIPT: Final = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.S | re.I)


def policy(script_sources: Iterable[str]) -> str:
    """The console's Content-Security-Policy with ``script_sources`` besides ``'self'``."""
    scripts = " ".join(["'self'", *script_sources])
    return (
        "default-src 'self'; "
        f"script-src {scripts}; "
        "style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; "
        "font-src 'self' data:; "
        "connect-src 'self'; "
        "object-src 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "frame-ancestors 'none'"
    )


def script_hashes(html: str) -> list[str]:
    """CSP sources allowing exactly the inline scripts of ``html`` (a page written earlier)."""
    return [
        "'sha256-{}'".format(
            base64.b64encode(hashlib.sha256(body.encode()).digest()).decode("ascii")
        )
        for body in _INLINE_SCRIPT.findall(html)
    ]


def nonce_of(scope: Scope) -> str:
    """The nonce of the console page being answered ('' outside the console)."""
    state = scope.get("state")
    found = state.get("csp_nonce", "") if state else ""
    return found if isinstance(found, str) else ""


class SecurityHeaders:
    """ASGI middleware: ``nosniff`` on every response; on console pages also the CSP (with
    the page's nonce, unless the page set a policy of its own), ``X-Frame-Options`` and
    ``Referrer-Policy``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        console = path == CONSOLE_PREFIX or path.startswith(f"{CONSOLE_PREFIX}/")
        if not console:

            async def plain(message: MutableMapping[str, Any]) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), _NOSNIFF]
                await send(message)

            await self.app(scope, receive, plain)
            return
        nonce = base64.b64encode(os.urandom(16)).decode("ascii")
        scope.setdefault("state", {})["csp_nonce"] = nonce
        page_policy = policy([f"'nonce-{nonce}'"]).encode()

        async def guarded(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                if not any(name.lower() == CSP for name, _ in headers):
                    headers.append((CSP, page_policy))
                headers.extend((_NOSNIFF, _FRAMES, _REFERRER))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, guarded)
