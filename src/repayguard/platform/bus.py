"""The bus: where published messages go. In-process by default; NATS JetStream when shared.

Two kinds of handler, and every wiring says which it is:

- ``subscribe(name, handler, consumer=...)`` — an *effect* (writes notices, re-decides
  borrowers, opens approvals). Across a deployment each message reaches one process per
  consumer name; the handler is idempotent (``platform.consumers``), so a redelivery after a
  crash changes nothing twice.
- ``follow(name, handler)`` — *this process's own state* (the authorize view, the token cache,
  the keyring, the decision engine). Every process applies every message it follows.

A bus is opened before the process loads its state (``open``: the shared bus records where
following will start, see ``nats_bus``) and started once everything is wired (``start``);
``on_gap`` registers what reloads that state from the database when messages may have been
missed, ``health`` says how fresh the followed state is (``/readyz``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import structlog

from repayguard.platform.messages import Message

Handler = Callable[[Message], None]
Reload = Callable[[], None]
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BusHealth:
    """How fresh this process's followed state is, for readiness."""

    connected: bool
    staleness_seconds: float
    """Seconds since the followed state was last known to hold every published message."""
    disconnected_since: datetime | None = None
    problem: str | None = None
    """Why the followed state cannot be trusted now (a handler failed, a reload is due)."""


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

    def on_gap(self, reload: Reload) -> None:
        """Call ``reload`` when followed messages may have been missed: it rebuilds this
        process's state from the database."""
        ...

    def open(self) -> None:
        """Connect, before the process loads its state (the catch-up position)."""
        ...

    def start(self, *, effects: bool) -> None:
        """Begin following; consume effects too when ``effects`` (serve and worker do)."""
        ...

    def health(self) -> BusHealth:
        """Connection and freshness of the followed state."""
        ...

    def close(self) -> None:
        """Stop consuming and disconnect; publishing is refused afterwards."""
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

    # Delivery is inline in the committing process, so its state is never behind and there is
    # nothing to connect, start, reload or close.
    def on_gap(self, reload: Reload) -> None:
        pass

    def open(self) -> None:
        pass

    def start(self, *, effects: bool) -> None:
        pass

    def health(self) -> BusHealth:
        return BusHealth(connected=True, staleness_seconds=0.0)

    def close(self) -> None:
        pass


class RecordingBus(InProcessBus):
    """An in-process bus that also keeps every message it published (tests, demos)."""

    def __init__(self) -> None:
        super().__init__()
        self.published: list[Message] = []

    def publish(self, message: Message) -> None:
        super().publish(message)
        self.published.append(message)
