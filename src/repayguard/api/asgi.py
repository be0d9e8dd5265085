"""ASGI plumbing shared by the API's middlewares: the protocol's types, and a ``receive`` that
hands an application a body a middleware has already read."""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]
ASGIApp = Callable[[Scope, Receive, Send], Any]


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
