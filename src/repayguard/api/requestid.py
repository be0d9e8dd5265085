"""Request ids and the access log: one id per request, on its response and its log lines.

``X-Request-ID`` is taken from the caller when it is a sane token (at most 128 characters of
``[A-Za-z0-9._-]``), so a lender's gateway can follow its own id through repayguard; otherwise
(absent, empty, too long, other characters) a new one is made. The id is echoed on every
response and bound with ``structlog.contextvars`` for the request's duration, so every log line
written while the request is handled — repayguard's and the libraries' — carries
``request_id``.

One access line per request (``http.request``): method, the route's path template (never the
concrete path, which may name a borrower), status, duration in ms, the request id, the client
address, and the id of the token that called when the access guard resolved one — never a
token, a header's value or a body.

Pure ASGI (no ``BaseHTTPMiddleware``): it wraps ``send`` to add the header and reads the
outcome from the messages, costing one closure per request.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from time import perf_counter
from typing import Any, Final

import structlog

from repayguard.api.asgi import ASGIApp, Message, Receive, Scope, Send

HEADER: Final = b"x-request-id"
MAX_LENGTH: Final = 128
_SANE: Final = re.compile(rb"[A-Za-z0-9._-]{1,128}")
ACCESS_EVENT: Final = "http.request"
UNMATCHED: Final = "<unmatched>"
"""The path logged for a request no route matched (its own path may carry anything)."""


def new_request_id() -> bytes:
    """A fresh id: 32 random hexadecimal characters."""
    return os.urandom(16).hex().encode()


class RequestIds:
    """Fresh ids as :func:`new_request_id` makes them (16 bytes of the system's random source
    each), cut from one read of the source per 256 ids: a read is a system call, which cost
    the authorize fast path as much as validating the request body. One per middleware;
    called from the event loop's thread only."""

    __slots__ = ("_at", "_pool")
    BATCH: Final = 256

    def __init__(self) -> None:
        self._pool = b""
        self._at = 0

    def __call__(self) -> bytes:
        at = self._at
        if at >= len(self._pool):
            self._pool, at = os.urandom(16 * self.BATCH), 0
        self._at = at + 16
        return self._pool[at : at + 16].hex().encode()


def accepted(value: bytes | None, fresh: Callable[[], bytes] = new_request_id) -> bytes:
    """The caller's id when it is a sane token, else a fresh one (from ``fresh``)."""
    if value is not None and _SANE.fullmatch(value):
        return value
    return fresh()


def request_id_of(scope: Scope) -> str | None:
    """The id of the request ``scope`` belongs to (None outside :class:`RequestContext`)."""
    state = scope.get("state")
    found = state.get("request_id") if state else None
    return found if isinstance(found, str) else None


def path_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/borrowers/{borrower_id}``), or
    :data:`UNMATCHED`."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else UNMATCHED


def token_id_of(scope: Scope) -> str | None:
    """The id of the token the access guard resolved for the request, if any."""
    state = scope.get("state")
    principal = state.get("principal") if state else None
    found = getattr(principal, "token_id", None)
    return found if isinstance(found, str) else None


def with_request_id(message: Message, request_id: bytes) -> Message:
    """``message`` (an ``http.response.start``) with the ``X-Request-ID`` header set."""
    headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != HEADER]
    headers.append((HEADER, request_id))
    message["headers"] = headers
    return message


class RequestContext:
    """ASGI middleware: the request id (taken or made, echoed, bound for logging) and one
    access log line per HTTP request (``access=False``: none)."""

    def __init__(self, app: ASGIApp, *, access: bool = True) -> None:
        self.app = app
        self.access = AccessLog() if access else None
        self._ids = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope["headers"]:
            if name == HEADER:
                given = value
                break
        request_id = accepted(given, self._ids)
        text = request_id.decode("ascii")
        scope.setdefault("state", {})["request_id"] = text
        bound = structlog.contextvars.bind_contextvars(request_id=text)
        started = perf_counter()
        status = 500  # what the server answers when the application fails before answering

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = with_request_id(message, request_id)
            await send(message)

        failure: Exception | None = None
        try:
            await self.app(scope, receive, sending)
        except Exception as exc:
            failure = exc  # answered 500 by the framework; the server logs it again
            raise
        finally:
            if self.access is not None:
                self.access.line(scope, status, perf_counter() - started, text, failure=failure)
            structlog.contextvars.reset_contextvars(**bound)


class AccessLog:
    """Writes access lines (its logger taken when built, after logging was configured)."""

    def __init__(self) -> None:
        self._log = structlog.get_logger("repayguard.access")

    def line(
        self,
        scope: Scope,
        status: int,
        seconds: float,
        request_id: str,
        *,
        path: str | None = None,
        token_id: str | None = None,
        failure: Exception | None = None,
    ) -> None:
        """The access line of one request (an error with its traceback when it failed)."""
        fields: dict[str, Any] = {
            "method": scope["method"],
            "path": path or path_template(scope),
            "status": status,
            "duration_ms": round(seconds * 1000, 3),
            "request_id": request_id,
        }
        client = scope.get("client")
        if client:
            fields["client"] = client[0]
        token = token_id or token_id_of(scope)
        if token is not None:
            fields["token_id"] = token
        if failure is not None:
            self._log.error(ACCESS_EVENT, exc_info=failure, **fields)
        else:
            self._log.info(ACCESS_EVENT, **fields)
