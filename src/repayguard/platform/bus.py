"""The bus: where published messages go. In-process by default; handlers subscribe by name."""

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

    def subscribe(self, name: str, handler: Handler) -> None: ...


class InProcessBus:
    """Synchronous delivery to the handlers of this process, in subscription order.

    A handler that raises makes ``publish`` raise, so the relay keeps the message in the outbox
    and delivers it again later: handlers must therefore be idempotent (see ``consumers``).
    """

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def subscribe(self, name: str, handler: Handler) -> None:
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
