"""ASGI plumbing shared by the API's middlewares: the protocol's types, reading a request's
body, and a ``receive`` that hands an application a body a middleware has already read."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]


async def read_body(receive: Receive, *, limit: int | None = None) -> tuple[bytes, bool]:
    """The request body read so far, and whether more of it is still to come: reading stops
    past ``limit`` bytes (None: the whole body), leaving the rest to whoever reads next
    (through :func:`replaying`). A client that goes away ends the body where it is."""
    message = await receive()
    if message["type"] == "http.request" and not message.get("more_body", False):
        return bytes(message.get("body", b"")), False  # the usual case: one message
    chunks: list[bytes] = []
    size = 0
    while True:
        if message["type"] != "http.request":
            return b"".join(chunks), False
        chunk = bytes(message.get("body", b""))
        chunks.append(chunk)
        size += len(chunk)
        more = bool(message.get("more_body", False))
        if not more or (limit is not None and size > limit):
            return b"".join(chunks), more
        message = await receive()


def replaying(body: bytes, receive: Receive, *, more: bool = False) -> Receive:
    """A ``receive`` that first gives the application ``body`` (what a middleware read), then
    whatever else the client sends (the rest of the body when ``more``, or a disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": more}
        message: Message = await receive()
        return message

    return replay
