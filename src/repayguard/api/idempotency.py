"""Idempotency-Key on write endpoints: a retried request gets the stored response, not a redo."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
from collections.abc import Callable, Collection
from typing import Any, Final

import orjson
from anyio import to_thread

from repayguard.api.asgi import ASGIApp, Message, Receive, Scope, Send, read_body, replaying
from repayguard.api.idempotency_store import (
    Claim,
    Claimed,
    IdempotencyKeyRow,
    IdempotencyStore,
    InFlight,
    Mismatch,
    Replay,
)
from repayguard.errors import (
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    IdempotentRequestInFlight,
    RepayguardError,
)

__all__ = [
    "Claim",
    "Claimed",
    "IdempotencyKeyRow",
    "IdempotencyMiddleware",
    "IdempotencyStore",
    "InFlight",
    "Mismatch",
    "Replay",
    "default_caller",
    "request_fingerprint",
]

HEADER: Final = b"idempotency-key"
WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_KEY_CHARS = frozenset(range(0x21, 0x7F))  # printable ASCII, no spaces
# Refusals that say nothing about the request itself (who asked, or how often) are not kept,
# so a caller without a valid token cannot fill the table, and a retry after the fix runs.
_NOT_KEPT = frozenset({401, 403, 429})


def default_caller(scope: Scope) -> str:
    """Keys are per caller: the hash of the Authorization header (identity replaces this
    with the principal's id), or ``anonymous``."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            return "auth:" + hashlib.sha256(value).hexdigest()[:32]
    return "anonymous"


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def request_fingerprint(key: bytes, scope: Scope, body: bytes) -> str:
    """A keyed hash (HMAC-SHA256) of method, path, query and body — keyed, because a plain
    hash of a body holding a phone number could be reversed by trying every number. A JSON
    body is canonicalized first, so key order and spacing do not make a retry "different"."""
    content_type = _header(scope, b"content-type") or b""
    if body and content_type.split(b";")[0].strip() == b"application/json":
        with contextlib.suppress(orjson.JSONDecodeError):
            body = orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
        mac.update(part + b"\x00")
    mac.update(body)
    return mac.hexdigest()


def problem(exc: RepayguardError) -> tuple[int, bytes]:
    """The problem document of an error, in the same shape as the API's error mapping."""
    body: dict[str, Any] = {
        "type": f"https://repayguard.dev/problems/{exc.code}",
        "title": exc.code.replace("_", " "),
        "status": exc.http_status,
        "detail": exc.message,
        "code": exc.code,
    }
    if exc.hint:
        body["hint"] = exc.hint
    return exc.http_status, orjson.dumps(body)


class IdempotencyMiddleware:
    """ASGI middleware: every POST/PUT/PATCH/DELETE carrying ``Idempotency-Key`` runs once.

    Same key and same request → the stored response (``Idempotent-Replayed: true``); same key,
    different request → 422; while the first is still running → 409 with ``Retry-After``.
    Responses below 500 are stored (a refusal is an answer too) except 401, 403 and 429; those,
    a 5xx or a crash release the key so a retry runs again. Requests without the header pass
    straight through, so the authorize hot path pays nothing; ``exempt`` paths (queries sent
    as POST) ignore it.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: IdempotencyStore,
        fingerprint_key: bytes,
        exempt: Collection[str] = ("/v1/authorize",),
        required: bool = False,
        caller: Callable[[Scope], str] = default_caller,
    ) -> None:
        self.app = app
        self.store = store
        self._fingerprint_key = fingerprint_key
        self._exempt = frozenset(exempt)
        self._required = required
        self._caller = caller

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in WRITE_METHODS
            or scope["path"] in self._exempt
        ):
            await self.app(scope, receive, send)
            return
        raw = _header(scope, HEADER)
        if raw is None:
            if self._required:
                await _send_problem(
                    send,
                    IdempotencyKeyRequired(
                        "this endpoint needs an Idempotency-Key header",
                        hint="send a unique key (a UUID) per logical request; reuse it to retry",
                    ),
                )
                return
            await self.app(scope, receive, send)
            return
        if not 1 <= len(raw) <= 255 or not set(raw) <= _KEY_CHARS:
            await _send_problem(
                send,
                IdempotencyKeyInvalid(
                    "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces"
                ),
            )
            return
        key = raw.decode("ascii")
        body, _ = await read_body(receive)
        caller = self._caller(scope)
        fingerprint = request_fingerprint(self._fingerprint_key, scope, body)
        claim = await to_thread.run_sync(self.store.claim, caller, key, fingerprint)
        if isinstance(claim, Mismatch):
            await _send_problem(
                send,
                IdempotencyKeyReused(
                    "this Idempotency-Key was already used with a different request",
                    hint="use a new key for a new request; reuse a key only to retry the same one",
                ),
            )
        elif isinstance(claim, InFlight):
            await _send_problem(
                send,
                IdempotentRequestInFlight(
                    "the first request with this Idempotency-Key is still being processed",
                    hint="retry after a moment to receive its response",
                ),
                retry_after=True,
            )
        elif isinstance(claim, Replay):
            await _send(send, claim.status, claim.content_type, claim.body, replayed=True)
        else:
            await self._run(scope, replaying(body, receive), send, caller, key, fingerprint)

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, caller: str, key: str, fingerprint: str
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))

        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await to_thread.run_sync(self.store.release, caller, key, fingerprint)
            raise
        assert start is not None, "the application sent no response"
        status = int(start["status"])
        body = b"".join(chunks)
        if status < 500 and status not in _NOT_KEPT:
            content_type = next(
                (v.decode("latin-1") for k, v in start.get("headers", ()) if k == b"content-type"),
                None,
            )
            await to_thread.run_sync(
                lambda: self.store.complete(
                    caller, key, fingerprint, status=status, content_type=content_type, body=body
                )
            )
        else:
            await to_thread.run_sync(self.store.release, caller, key, fingerprint)
        await send(start)
        await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send(
    send: Send,
    status: int,
    content_type: str | None,
    body: bytes,
    *,
    replayed: bool = False,
    retry_after: bool = False,
) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode("latin-1")))
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    if retry_after:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_problem(send: Send, exc: RepayguardError, *, retry_after: bool = False) -> None:
    status, body = problem(exc)
    await _send(send, status, "application/problem+json", body, retry_after=retry_after)
