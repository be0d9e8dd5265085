"""The bus: where published messages go. In-process by default; NATS JetStream when shared.

Two kinds of handler, and every wiring says which it is:

- ``subscribe(TheFact, handler, consumer=...)`` — an *effect* (writes notices, re-decides
  borrowers, opens approvals). Across a deployment each message reaches one process per
  consumer name; the handler is idempotent (``platform.consumers``), so a redelivery after a
  crash changes nothing twice.
- ``subscribe_batch(TheFact, handler, consumer=..., max_batch=...)`` — an effect that handles
  several pending messages of one subject together (the online decider re-decides the union of
  their borrowers in one run); the batch is processed in one transaction
  (``platform.consumers.idempotent_batch``), so each message still has its effect once.
- ``follow(TheFact, handler)`` — *this process's own state* (the authorize view, the token cache,
  the keyring, the decision engine). Every process applies every message it follows.

A bus is opened before the process loads its state (``open``: the shared bus records where
following will start, see ``nats_bus``) and started once everything is wired (``start``);
``on_gap`` registers what reloads that state from the database when messages may have been
missed, ``health`` says how fresh the followed state is (``/readyz``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Protocol, cast, runtime_checkable

import structlog
from typing_extensions import TypeVar

from repayguard.errors import BusMisconfigured
from repayguard.platform.messages import Fact, Message

FactT = TypeVar("FactT", bound=Fact, default=Fact)
Handler = Callable[[Message[FactT]], None]
BatchHandler = Callable[[Sequence[Message[FactT]]], None]
"""Handles messages of one subject together, in publication order; raising fails them all."""
Subject = type[FactT]
"""What a subscription names: the fact's class (its ``NAME`` is the subject)."""
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

    def subscribe(self, name: Subject[FactT], handler: Handler[FactT], *, consumer: str) -> None:
        """Handle ``name`` messages for an effect: one process of the deployment per
        ``consumer`` handles each message."""
        ...

    def subscribe_batch(
        self,
        name: Subject[FactT],
        handler: BatchHandler[FactT],
        *,
        consumer: str,
        max_batch: int,
    ) -> None:
        """Handle ``name`` messages for an effect, up to ``max_batch`` of them at once: the
        messages already waiting when the handler is free come together, in order."""
        ...

    def publish_batch(self, messages: Sequence[Message]) -> None:
        """Deliver committed messages of one subject, in order; batch subscribers may get them
        together. Raise if delivery failed (then none counts as delivered)."""
        ...

    def follow(self, name: Subject[FactT], handler: Handler[FactT]) -> None:
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


@runtime_checkable
class FollowsAhead(Protocol):
    """A bus whose followers the outbox relay may run ahead of effects (the in-process bus:
    the shared bus follows the stream on its own thread anyway)."""

    def follow_ahead(self, messages: Sequence[Message]) -> None:
        """Apply the followers of committed messages before they are published."""
        ...


class InProcessBus:
    """Synchronous delivery to the handlers of this process, in subscription order.

    A handler that raises makes ``publish`` raise, so the relay keeps the message in the outbox
    and delivers it again later: handlers must therefore be idempotent (see ``consumers``).
    Messages relayed together (``publish_batch``) reach a batch handler together, in slices of
    its ``max_batch``; a one-message handler gets them one by one.

    Followed state may run ahead of effects (:meth:`follow_ahead`), as it does on the shared
    bus, where each process follows the stream on a thread of its own: the relay applies the
    followers of every committed message it has fetched before it runs the effects in front of
    them, so an online decision run does not hold the authorize view back behind the next one.
    A message followed ahead is not followed again when it is published.
    """

    FOLLOWED_AHEAD_KEPT: Final = 100_000
    """Message ids remembered as followed ahead; one published by another process is never
    published here, so the oldest are forgotten past this many (following a message twice
    is harmless: followed state applies whole values)."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[tuple[bool, BatchHandler[Any]]]] = defaultdict(list)
        self._ahead: dict[str, None] = {}  # insertion-ordered: the oldest are forgotten first

    def subscribe(
        self, name: Subject[FactT], handler: Handler[FactT], *, consumer: str = "local"
    ) -> None:
        self._handlers[subject_name(name)].append((False, one_by_one(handler)))

    def subscribe_batch(
        self,
        name: Subject[FactT],
        handler: BatchHandler[FactT],
        *,
        consumer: str = "local",
        max_batch: int,
    ) -> None:
        self._handlers[subject_name(name)].append(
            (False, _in_slices(handler, batch_size(max_batch)))
        )

    def follow(self, name: Subject[FactT], handler: Handler[FactT]) -> None:
        # One process holds every handler: following is subscribing, in the same order.
        self._handlers[subject_name(name)].append((True, one_by_one(handler)))

    def publish(self, message: Message[Fact]) -> None:
        self.publish_batch((message,))

    def publish_batch(self, messages: Sequence[Message[Fact]]) -> None:
        if not messages:
            return
        names = {message.name for message in messages}
        if len(names) != 1:
            raise ValueError(f"a batch holds messages of one subject, not {sorted(names)}")
        ahead = self._ahead
        unfollowed = [m for m in messages if m.message_id not in ahead]
        for follows, handler in self._handlers.get(messages[0].name, ()):
            if not follows:
                handler(messages)
            elif unfollowed:
                handler(unfollowed)
        for message in messages:
            ahead.pop(message.message_id, None)

    def follow_ahead(self, messages: Sequence[Message[Fact]]) -> None:
        """Apply the followers of committed ``messages`` (in outbox order) before they are
        published. Stops at the first message a follower fails on: that one and those after
        it are followed when published, where the failure keeps them pending as any failed
        delivery does, so followers still see every message in order."""
        ahead = self._ahead
        for message in messages:
            if message.message_id in ahead:
                continue
            followers = [h for follows, h in self._handlers.get(message.name, ()) if follows]
            try:
                for handler in followers:
                    handler((message,))
            except Exception as exc:
                log.warning("bus.follow_ahead_failed", message=message.name, error=repr(exc))
                return
            ahead[message.message_id] = None
            if len(ahead) > self.FOLLOWED_AHEAD_KEPT:
                del ahead[next(iter(ahead))]

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

    def publish_batch(self, messages: Sequence[Message]) -> None:
        super().publish_batch(messages)
        self.published.extend(messages)


def subject_name(subject: Subject[Any]) -> str:
    """The message name a subscription names."""
    return cast(str, subject.NAME)


def one_by_one(handler: Handler[FactT]) -> BatchHandler[FactT]:
    """A one-message handler as a batch handler: the messages in order, each on its own."""

    def each(messages: Sequence[Message[FactT]]) -> None:
        for message in messages:
            handler(message)

    return each


def batch_size(max_batch: int) -> int:
    """``max_batch`` when it is a usable batch size; a subscription asking for less than one
    message at a time is a wiring mistake, refused."""
    if max_batch < 1:
        raise BusMisconfigured(
            f"a batch subscription takes at least 1 message at a time, not {max_batch}",
            hint="set decisions.online_coalesce (or the subscription's max_batch) to 1 or more",
        )
    return max_batch


def _in_slices(handler: BatchHandler[FactT], size: int) -> BatchHandler[FactT]:
    def sliced(messages: Sequence[Message[FactT]]) -> None:
        for start in range(0, len(messages), size):
            handler(messages[start : start + size])

    return sliced
