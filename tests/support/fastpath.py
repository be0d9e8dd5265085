"""A recorder behind the authorize fast path: which requests reached the full application."""

from __future__ import annotations

from dataclasses import dataclass, field

from repayguard.api.asgi import ASGIApp, Receive, Scope, Send


@dataclass
class Framework:
    """The full application behind the fast path, noting the paths it was handed (a call
    the fast path answered itself leaves no trace here)."""

    app: ASGIApp
    seen: list[str] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.seen.append(scope["path"])
        await self.app(scope, receive, send)
