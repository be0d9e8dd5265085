"""Request body limits: a body larger than its route allows is refused with 413 before the
application reads it, so an oversized request costs neither memory nor a stored byte.

Ingestion takes batches (up to 10,000 events, a few MB), every other route a document or a
form; each has its own ceiling (``security.max_body_bytes`` and
``security.max_events_body_bytes``). A declared ``Content-Length`` over the limit is refused
at once; a body sent without one (chunked) is read up to the limit, then refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import orjson

from repayguard.api.asgi import ASGIApp, Receive, Scope, Send, read_body, replaying

PROBLEM: Final = b"application/problem+json"


class BodySizeLimit:
    """ASGI middleware refusing request bodies over their route's limit with 413."""

    def __init__(self, app: ASGIApp, *, default: int, by_path: Mapping[str, int]) -> None:
        self.app = app
        self._default = default
        self._by_path = dict(by_path)

    def limit_for(self, path: str) -> int:
        return self._by_path.get(path, self._default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit, declared)
            return
        body, more = await read_body(receive, limit=limit)
        if len(body) > limit:
            await _refuse(send, limit, None)
            return
        await self.app(scope, replaying(body, receive, more=more), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int, declared: int | None) -> None:
    size = f"{declared:,} bytes" if declared is not None else "more"
    body = orjson.dumps(
        {
            "type": "https://repayguard.dev/problems/body_too_large",
            "title": "body too large",
            "status": 413,
            "detail": f"the request body is {size}; this route takes at most {limit:,} bytes",
            "code": "body_too_large",
            "hint": "send smaller batches (ingestion takes up to 10,000 events per request)",
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", PROBLEM),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
