"""The bus: where published messages go. In-process by default; NATS JetStream when shared.

Two kinds of handler, and every wiring says which it is:

- ``subscribe(name, handler, consumer=...)`` — an *effect* (writes notices, re-decides
  borrowers, opens approvals). Across a deployment each message reaches one process per
  consumer name; the handler is idempotent (``platform.consumers``), so a redelivery after a
  crash changes nothing twice.
- ``follow(name, handler)`` — *this process's own state* (the authorize view, the token cache,
  the keyring, the decision engine). Every process applies every message it follows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Protocol

import structlog

from repayguard.platform.messages import Message

Handler = Callable[[Message], None]
log = structlog.get_logger(__name__)


class Bus(Protocol):
    def publish(self, message: Message) -> None:
        """Deliver a committed message to every subscriber; raise if delivery failed."""
        ...

    def subscribe(self, name: str, handler: Handler, *, consumer: str) -> None:
        """Handle ``name`` messages for an effect: one process of the deployment per
        ``consumer`` handles each message."""
        ...

    def follow(self, name: str, handler: Handler) -> None:
        """Apply ``name`` messages to this process's own state: every process gets each."""
        ...


class InProcessBus:
    """Synchronous delivery to the handlers of this process, in subscription order.

    A handler that raises makes ``publish`` raise, so the relay keeps the message in the outbox
    and delivers it again later: handlers must therefore be idempotent (see ``consumers``).
    """

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, name: str, handler: Handler, *, consumer: str = "local") -> None:
        self._handlers[name].append(handler)

    def follow(self, name: str, handler: Handler) -> None:
        # One process holds every handler: following is subscribing, in the same order.
        self._handlers[name].append(handler)

    def publish(self, message: Message) -> None:
        for handler in self._handlers.get(message.name, ()):
            handler(message)


class RecordingBus(InProcessBus):
    """An in-process bus that also keeps every message it published (tests, demos)."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Message] = []

    def publish(self, message: Message) -> None:
        super().publish(message)
        self.published.append(message)
