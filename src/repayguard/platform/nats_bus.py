"""NATS JetStream as the shared bus: every process of a deployment (API replicas, workers,
CLI commands on one database) publishes to one stream and sees every committed change.

- **Publish.** The outbox relay publishes each committed message to
  ``<subject_prefix><name>`` with ``Nats-Msg-Id`` = its message id and waits for JetStream's
  ack; a failure raises, so the row stays pending and the relay tries again. The database is
  the system of record; JetStream drops a republished id within its duplicate window, but it
  is consumer idempotency (``platform.consumers``) that guarantees one effect.
- **Effects** (``subscribe``): a durable pull consumer per consumer name and message name,
  shared by every process that consumes effects (``start(effects=True)``: serve and worker;
  one-shot CLI commands publish and consume nothing) — see ``nats_effects``.
- **Following** (``follow``): every process reads the whole stream in order and applies what
  it follows — see ``nats_follow``.

**The catch-up rule.** ``open`` (bootstrap calls it before the process loads anything from
the database) records the stream's last sequence; ``start`` (after all wiring and loading)
follows from the next one. Every followed message carries whole state or tells a cache to
reload, so one applied twice is harmless and none committed after the load is missed. After a
disconnect the follower resumes at the next sequence it needs; when the stream no longer
holds it (retention, or the stream recreated) or a handler failed, the ``on_gap`` reloads
rebuild the state from the database, and following continues from the position recorded
before them. Meanwhile the process keeps serving from what it has; ``health`` says how stale
that is (``/readyz``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

import nats
import structlog
from nats.aio.client import Client
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from repayguard.errors import BusMisconfigured, BusUnavailable
from repayguard.platform.bus import (
    BatchHandler,
    BusHealth,
    FactT,
    Handler,
    Reload,
    Subject,
    batch_size,
    one_by_one,
    subject_name,
)
from repayguard.platform.messages import Message
from repayguard.platform.nats_effects import EffectConsumer
from repayguard.platform.nats_follow import Follower
from repayguard.platform.nats_io import ROOT, LoopThread, encode

log = structlog.get_logger(__name__)

_REQUEST_SECONDS = 5.0
"""How long a JetStream API request (stream or consumer info, create) may take."""


class NatsBus:
    """The shared bus over NATS JetStream; see the module docstring for the rules."""

    def __init__(
        self,
        *,
        url: str,
        stream: str = "REPAYGUARD",
        subject_prefix: str = "",
        ack_wait_seconds: float = 30.0,
        publish_timeout_seconds: float = 5.0,
        connect_timeout_seconds: float = 5.0,
        reconnect_wait_seconds: float = 0.5,
        max_age_days: float = 7.0,
        duplicate_window_seconds: float = 120.0,
        poll_seconds: float = 1.0,
    ) -> None:
        self._servers = [server.strip() for server in url.split(",")]
        self._stream = stream
        self._prefix = subject_prefix
        self._ack_wait = ack_wait_seconds
        self._publish_timeout = publish_timeout_seconds
        self._connect_timeout = connect_timeout_seconds
        self._reconnect_wait = reconnect_wait_seconds
        self._max_age = max_age_days * 86_400
        self._duplicate_window = duplicate_window_seconds
        self._loop = LoopThread("bus-nats")
        self._client: Client | None = None
        self._jetstream: JetStreamContext | None = None
        self._follower = Follower(
            loop=self._loop,
            js=self._js,
            stream=stream,
            subjects=f"{subject_prefix}{ROOT}>",
            poll_seconds=poll_seconds,
            request_timeout=_REQUEST_SECONDS,
        )
        self._effects: list[EffectConsumer] = []
        self._consuming = False
        self._started = False
        self._closed = False
        self._disconnected_since: datetime | None = None
        self._lock = threading.Lock()

    # -- the Bus protocol --------------------------------------------------------------------

    def subscribe(self, name: Subject[FactT], handler: Handler[FactT], *, consumer: str) -> None:
        self.subscribe_batch(name, one_by_one(handler), consumer=consumer, max_batch=1)

    def subscribe_batch(
        self,
        subject: Subject[FactT],
        handler: BatchHandler[FactT],
        *,
        consumer: str,
        max_batch: int,
    ) -> None:
        name = subject_name(subject)
        effect = EffectConsumer(
            loop=self._loop,
            js=self._js,
            stream=self._stream,
            subject=self.subject(name),
            consumer=consumer,
            name=name,
            handler=cast(BatchHandler[Any], handler),
            max_batch=batch_size(max_batch),
            ack_wait_seconds=self._ack_wait,
            request_timeout=_REQUEST_SECONDS,
        )
        with self._lock:
            if any(e.durable == effect.durable for e in self._effects):
                raise BusMisconfigured(
                    f"consumer {consumer!r} already handles {name!r} in this process",
                    hint="give each effect handler its own consumer name",
                )
            self._effects.append(effect)
            if self._consuming:
                effect.start()

    def follow(self, subject: Subject[FactT], handler: Handler[FactT]) -> None:
        name = subject_name(subject)
        self.subject(name)  # refuses a name outside the stream
        self._follower.add(name, cast(Handler[Any], handler))

    def on_gap(self, reload: Reload) -> None:
        self._follower.on_gap(reload)

    def open(self) -> None:
        """Connect, make sure the stream exists as configured, and record the position
        following will start from (the catch-up rule)."""
        with self._lock:
            self._connect()
        self._follower.mark_position()

    def start(self, *, effects: bool) -> None:
        """Follow from the recorded position; with ``effects``, bind and pull every effect
        consumer subscribed so far (and any subscribed later)."""
        with self._lock:
            if self._started:
                return
            if self._client is None:
                self._connect()
                self._follower.mark_position()
            self._started = True
            self._follower.start()
            if effects:
                self._consuming = True
                for effect in self._effects:
                    effect.start()

    def publish(self, message: Message) -> None:
        subject = self.subject(message.name)
        js = self._js()
        try:
            self._loop.run(
                js.publish(
                    subject,
                    encode(message),
                    timeout=self._publish_timeout,
                    stream=self._stream,
                    headers={"Nats-Msg-Id": message.message_id},
                ),
                timeout=self._publish_timeout + 1,
            )
        except Exception as exc:
            raise BusUnavailable(
                f"JetStream did not accept {message.name} {message.message_id}: "
                f"{type(exc).__name__}: {exc}",
                hint="the outbox keeps the message; the relay publishes it again",
            ) from exc

    def publish_batch(self, messages: Sequence[Message]) -> None:
        # JetStream stores each message on its own; consumers pull them together.
        for message in messages:
            self.publish(message)

    def health(self) -> BusHealth:
        client = self._client
        return BusHealth(
            connected=client is not None and client.is_connected,
            staleness_seconds=self._follower.staleness(),
            disconnected_since=self._disconnected_since,
            problem=self._follower.problem,
        )

    def staleness(self) -> float:
        """Seconds since this process's followed state was last known to be complete."""
        return self._follower.staleness()

    def close(self) -> None:
        """Stop consuming (each effect finishes the message in hand), stop following, flush
        the connection, close it and stop the loop."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._consuming = False
            effects = list(self._effects)
        for effect in effects:
            effect.stop()
        for effect in effects:
            effect.join(timeout=_REQUEST_SECONDS + 5)
        if self._started:
            self._follower.stop()
        client = self._client
        if client is not None and not client.is_closed:
            try:
                self._loop.run(self._shut(client), timeout=2 * _REQUEST_SECONDS)
            except Exception:
                log.warning("bus.close_failed", hint="the connection is dropped on exit")
        self._loop.stop()

    @staticmethod
    async def _shut(client: Client) -> None:
        # Every subscription is gone by now, so draining is flushing what was written (nats-py's
        # drain() would wait on pull subscriptions' queues, which nothing empties).
        try:
            await client.flush(timeout=int(_REQUEST_SECONDS))
        finally:
            await client.close()

    # -- names -------------------------------------------------------------------------------

    def subject(self, name: str) -> str:
        """The subject of message ``name`` (its name after the deployment's prefix)."""
        if not name.startswith(ROOT) or any(c in name for c in " *>\t\r\n"):
            raise BusMisconfigured(
                f"message name {name!r} cannot go on the shared bus",
                hint=f"names on the NATS bus start with {ROOT!r} and hold no spaces or wildcards",
            )
        return f"{self._prefix}{name}"

    # -- connection --------------------------------------------------------------------------

    def _js(self) -> JetStreamContext:
        if self._jetstream is None:
            raise BusUnavailable(
                "the NATS bus is not open", hint="bootstrap opens it before use (bus.open())"
            )
        return self._jetstream

    def _connect(self) -> None:
        if self._closed:
            raise BusUnavailable("the NATS bus is closed")
        if self._client is not None:
            return
        try:
            self._client = self._loop.run(self._dial(), timeout=self._connect_timeout + 1)
        except Exception as exc:
            raise BusUnavailable(
                f"the NATS server at {', '.join(self._servers)} did not answer within "
                f"{self._connect_timeout:g} s ({type(exc).__name__})",
                hint="start nats-server with JetStream (-js), or unset REPAYGUARD_BUS__URL "
                "to use the in-process bus",
            ) from exc
        self._jetstream = self._client.jetstream(timeout=_REQUEST_SECONDS)
        self._loop.run(self._ensure_stream(), timeout=3 * _REQUEST_SECONDS)

    async def _dial(self) -> Client:
        # The first connection gets a deadline (a server that is not there stops start-up
        # with a clear message); once connected, reconnection is attempted forever.
        return await asyncio.wait_for(
            nats.connect(
                servers=self._servers,
                name="repayguard",
                connect_timeout=self._connect_timeout,
                allow_reconnect=True,
                max_reconnect_attempts=-1,
                reconnect_time_wait=self._reconnect_wait,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                error_cb=self._on_error,
            ),
            timeout=self._connect_timeout,
        )

    async def _on_disconnected(self) -> None:
        if self._disconnected_since is None and not self._closed:
            self._disconnected_since = datetime.now(UTC)
            log.warning("bus.disconnected", hint="serving from the state in memory; reconnecting")

    async def _on_reconnected(self) -> None:
        since, self._disconnected_since = self._disconnected_since, None
        log.info("bus.reconnected", disconnected_since=since.isoformat() if since else None)

    async def _on_error(self, error: Exception) -> None:
        log.debug("bus.connection_error", error=f"{type(error).__name__}: {error}")

    async def _ensure_stream(self) -> None:
        """Create the stream, or bring an existing one to the configured limits (idempotent:
        every process does it at start). A stream that holds other subjects belongs to
        another deployment and is refused."""
        js = self._js()
        subjects = [f"{self._prefix}{ROOT}>"]
        config = api.StreamConfig(
            name=self._stream,
            description="repayguard: every committed message, in commit order",
            subjects=subjects,
            retention=api.RetentionPolicy.LIMITS,
            storage=api.StorageType.FILE,
            discard=api.DiscardPolicy.OLD,
            max_age=self._max_age,
            duplicate_window=self._duplicate_window,
            num_replicas=1,
        )
        try:
            info = await js.stream_info(self._stream)
        except NotFoundError:
            try:
                await js.add_stream(config)
                return
            except Exception:
                info = await js.stream_info(self._stream)  # another process made it first
        if list(info.config.subjects or []) != subjects:
            raise BusMisconfigured(
                f"stream {self._stream} holds {info.config.subjects}, not {subjects}",
                hint="give each deployment (subject prefix) its own REPAYGUARD_BUS__STREAM",
            )
        current = info.config
        if (current.max_age, current.duplicate_window) != (
            config.max_age,
            config.duplicate_window,
        ):
            await js.update_stream(config)
