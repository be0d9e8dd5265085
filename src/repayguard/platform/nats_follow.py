"""Following the NATS stream: every message applied to this process's state, in stream order,
with the catch-up rule, gap detection and the freshness that ``/readyz`` reports."""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from repayguard.platform.bus import Handler, Reload
from repayguard.platform.nats_io import NOTHING_FETCHED, ROOT, LoopThread, backoff, decode

log = structlog.get_logger(__name__)

_BATCH = 256
"""Messages fetched at once while behind (one at a time when caught up: a lone message
then arrives as soon as it is stored)."""
_CONSUMER_IDLE_SECONDS = 300.0
"""The server deletes this process's consumer after this long without a pull (a crashed
process leaves nothing behind for long); a slower handler only means it is made again."""


class Follower:
    """Applies every followed message to this process's state, on one thread, in order.

    It reads the whole stream (``<prefix>repayguard.>``) through an ephemeral, in-memory pull
    consumer of its own, starting at the position recorded by :meth:`mark_position`, and keeps
    the next stream sequence it needs. Because it reads every subject, stream sequences are
    consecutive: a message with a later sequence than expected means messages were removed
    (retention), and a stream with another creation time means it was recreated. Either way,
    or when a handler raised, the state can no longer be trusted: the follower records the
    stream's last sequence, calls the reloads (state from the database) and continues after
    that sequence — the catch-up rule again. A consumer lost with the server (a restart) is
    made again at the next needed sequence, so nothing is skipped after a disconnect.
    """

    def __init__(
        self,
        *,
        loop: LoopThread,
        js: Callable[[], JetStreamContext],
        stream: str,
        subjects: str,
        poll_seconds: float,
        request_timeout: float,
    ) -> None:
        self._loop = loop
        self._js = js
        self._stream = stream
        self._subjects = subjects
        self._prefix = subjects.removesuffix(f"{ROOT}>")
        """What precedes a message's name in its subject (the deployment's prefix)."""
        self._poll = poll_seconds
        self._timeout = request_timeout
        self._handlers: dict[str, list[Handler]] = defaultdict(list)
        self._reloads: list[Reload] = []
        self._next_seq = 1
        self._created: datetime | None = None
        self._fresh_at = time.monotonic()
        self._pending = 0
        self._problem: str | None = None
        self._reload_due = False
        self._consumer: str | None = None
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bus-follow", daemon=True)

    # -- wiring (before start) ---------------------------------------------------------------

    def add(self, name: str, handler: Handler) -> None:
        self._handlers[name].append(handler)

    def on_gap(self, reload: Reload) -> None:
        self._reloads.append(reload)

    def mark_position(self) -> None:
        """The catch-up rule's first half: remember the stream's last sequence *before* the
        process loads its state; following starts right after it, so a message committed
        after the load cannot be missed (one applied twice carries whole state: harmless)."""
        started = time.monotonic()
        info = self._stream_info()
        self._next_seq = info.state.last_seq + 1
        self._created = info.created
        self._fresh_at = started

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._poll + self._timeout + 1)
        self._drop_consumer()

    # -- freshness ---------------------------------------------------------------------------

    def staleness(self) -> float:
        """Seconds since this process's state was last known to hold every message."""
        return max(0.0, time.monotonic() - self._fresh_at)

    @property
    def problem(self) -> str | None:
        return self._problem

    def _caught_up(self, at: float) -> None:
        if self._problem is None:
            self._fresh_at = max(self._fresh_at, at)

    # -- the loop ----------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                if self._reload_due:
                    self._reload()
                elif self._subscription is None:
                    self._bind()
                else:
                    self._step()
                if failures:
                    log.info("bus.follow_resumed", next_sequence=self._next_seq)
                failures = 0
            except Exception as exc:
                failures += 1
                self._drop_consumer()
                (log.warning if failures == 1 else log.debug)(
                    "bus.follow_interrupted",
                    error=f"{type(exc).__name__}: {exc}",
                    next_sequence=self._next_seq,
                    hint="serving from the state in memory; retrying",
                )
                self._stop.wait(backoff(failures, cap=5.0))

    def _step(self) -> None:
        assert self._subscription is not None
        asked = time.monotonic()
        batch = _BATCH if self._pending else 1
        try:
            fetched = self._loop.run(
                self._subscription.fetch(batch, timeout=self._poll),
                timeout=self._poll + self._timeout,
            )
        except NOTHING_FETCHED:
            self._pending = 0
            self._check_idle()
            return
        for msg in fetched:
            sequence = msg.metadata.sequence.stream
            if sequence < self._next_seq:
                continue  # delivered again by a consumer made behind us: already applied
            if sequence > self._next_seq:
                self._gap(f"messages {self._next_seq}-{sequence - 1} left the stream unread")
                return
            self._apply(msg)
            self._next_seq = sequence + 1
            self._pending = msg.metadata.num_pending
            if self._reload_due:
                return
        if self._pending == 0:
            self._caught_up(asked)

    def _apply(self, msg: Msg) -> None:
        if msg.subject.removeprefix(self._prefix) not in self._handlers:
            # A name this process does not follow (perhaps one a newer release declares and
            # this one cannot decode) changes nothing here: no need to read it.
            return
        try:
            message = decode(msg.data)
        except Exception:
            log.exception("bus.follow_unreadable", subject=msg.subject)
            self._gap(f"an unreadable message at sequence {msg.metadata.sequence.stream}")
            return
        failed = False
        for handler in self._handlers.get(message.name, ()):
            try:
                handler(message)
            except Exception:
                failed = True
                log.exception(
                    "bus.follow_handler_failed",
                    message=message.name,
                    message_id=message.message_id,
                )
        if failed:
            self._gap(f"applying {message.name} {message.message_id} failed")

    def _check_idle(self) -> None:
        """Nothing arrived within a poll: either caught up (the stream ends where we are) or
        the consumer is gone (a fetch on a lost consumer only ever times out)."""
        asked = time.monotonic()
        info = self._stream_info()
        if self._lost_messages(info):
            return
        if info.state.last_seq < self._next_seq:
            self._caught_up(asked)
            return
        assert self._consumer is not None
        try:
            self._loop.run(
                self._js().consumer_info(self._stream, self._consumer), timeout=self._timeout
            )
        except NotFoundError:
            log.info("bus.follow_consumer_lost", next_sequence=self._next_seq)
            self._drop_consumer()

    def _lost_messages(self, info: api.StreamInfo) -> bool:
        """Whether messages this process still needs can no longer be read (then a reload is
        set in motion)."""
        if self._created is not None and info.created != self._created:
            self._gap("the stream was recreated")
        elif info.state.first_seq > self._next_seq:
            self._gap(f"the stream no longer holds sequence {self._next_seq}")
        elif info.state.last_seq + 1 < self._next_seq:
            self._gap("the stream is shorter than what was read from it")
        else:
            return False
        return True

    def _bind(self) -> None:
        info = self._stream_info()
        if self._lost_messages(info):
            return
        name = f"follow-{uuid.uuid4().hex}"
        config = api.ConsumerConfig(
            name=name,
            description="repayguard: one process following the stream",
            deliver_policy=api.DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self._next_seq,
            ack_policy=api.AckPolicy.NONE,
            filter_subject=self._subjects,
            inactive_threshold=_CONSUMER_IDLE_SECONDS,
            mem_storage=True,
            num_replicas=1,
        )
        js = self._js()
        self._loop.run(js.add_consumer(self._stream, config), timeout=self._timeout)
        self._consumer = name
        self._subscription = self._loop.run(
            js.pull_subscribe_bind(consumer=name, stream=self._stream), timeout=self._timeout
        )
        # A backlog is fetched in batches; an empty one by long poll, one message at a time.
        self._pending = max(0, info.state.last_seq - self._next_seq + 1)

    def _gap(self, reason: str) -> None:
        log.warning("bus.follow_gap", reason=reason, next_sequence=self._next_seq)
        self._problem = f"{reason}; reloading from the database"
        self._reload_due = True
        self._drop_consumer()

    def _reload(self) -> None:
        """The catch-up rule again: position first, then state from the database."""
        started = time.monotonic()
        info = self._stream_info()
        failed = 0
        for reload in self._reloads:
            try:
                reload()
            except Exception:
                failed += 1
                log.exception("bus.follow_reload_failed", reload=getattr(reload, "__name__", ""))
        if failed:
            raise RuntimeError(f"{failed} of {len(self._reloads)} reloads failed")
        self._next_seq = info.state.last_seq + 1
        self._created = info.created
        self._reload_due = False
        self._problem = None
        self._fresh_at = started
        log.info("bus.follow_reloaded", next_sequence=self._next_seq)

    def _stream_info(self) -> api.StreamInfo:
        return self._loop.run(self._js().stream_info(self._stream), timeout=self._timeout)

    def _drop_consumer(self) -> None:
        subscription, consumer = self._subscription, self._consumer
        self._subscription = self._consumer = None
        if consumer is None:
            return
        try:
            if subscription is not None:
                self._loop.run(subscription.unsubscribe(), timeout=self._timeout)
            self._loop.run(self._js().delete_consumer(self._stream, consumer), timeout=1.0)
        except Exception:
            pass  # the server removes an idle consumer by itself (_CONSUMER_IDLE_SECONDS)
