"""Effect consumers on NATS JetStream: each message of a subject handled by one process of
the deployment per consumer name, in stream order (alone, or with the messages waiting behind
it for a batch handler), acknowledged after its handler returned."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import structlog
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from repayguard.platform.bus import BatchHandler
from repayguard.platform.messages import Message
from repayguard.platform.nats_io import NOTHING_FETCHED, LoopThread, backoff, decode, durable_name

log = structlog.get_logger(__name__)

POLL_SECONDS = 1.0
"""How long one pull request waits for a message: also how long stopping may take."""
_CHECK_EVERY = 10
"""Empty polls between checks that the durable consumer still exists (a fetch on a consumer
that vanished — a server that lost its store — only ever times out)."""


class EffectConsumer:
    """One durable pull consumer (``consumer`` × ``name``) and the thread that pulls from it.

    Every process that consumes effects binds the same durable, so JetStream gives each
    message to one of them; ``max_ack_pending=1`` makes the deployment handle one message of
    the consumer at a time, in stream order. The handler runs on this thread (never on the
    loop); while it runs the message is kept alive (``in_progress``) so a long handler is not
    redelivered elsewhere. A handler that raises gets the message back after a growing delay
    (``nak``), and later messages wait behind it, as the outbox keeps order. A process that
    dies mid-handler never acks: JetStream redelivers after ``ack_wait`` and the idempotent
    handler (``platform.consumers``) skips what had committed.

    With ``max_batch`` above 1 one pull takes up to that many waiting messages and the handler
    gets them together (acknowledged, or given back, together); ``max_ack_pending`` is then
    ``max_batch``, so while one process works through a batch another process of the
    deployment may take the messages published after it: only handlers that tolerate two
    batches at once should ask for more than one (the online decider: each message is still
    marked once, and decision runs over one borrower already overlap with the other
    re-deciding consumers).
    """

    def __init__(
        self,
        *,
        loop: LoopThread,
        js: Callable[[], JetStreamContext],
        stream: str,
        subject: str,
        consumer: str,
        name: str,
        handler: BatchHandler,
        ack_wait_seconds: float,
        max_batch: int = 1,
        request_timeout: float,
    ) -> None:
        self.durable = durable_name(consumer, name)
        self.consumer = consumer
        self.name = name
        self._loop = loop
        self._js = js
        self._stream = stream
        self._subject = subject
        self._handler = handler
        self._max_batch = max_batch
        self._ack_wait = ack_wait_seconds
        self._timeout = request_timeout
        self._stop = threading.Event()
        self._subscription: JetStreamContext.PullSubscription | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"bus-effect-{self.durable}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the message in hand (if any) is handled and acknowledged."""
        self._stop.set()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        subscription: JetStreamContext.PullSubscription | None = None
        try:
            self._pull(subscription)
        finally:
            self._release()

    def _pull(self, subscription: JetStreamContext.PullSubscription | None) -> None:
        failures = empty = 0
        while not self._stop.is_set():
            try:
                if subscription is None:
                    self._release()
                    subscription = self._subscription = self._bind()
                    if failures:
                        log.info("bus.effect_resumed", durable=self.durable)
                    failures = 0
                try:
                    messages = self._loop.run(
                        subscription.fetch(self._max_batch, timeout=POLL_SECONDS),
                        timeout=POLL_SECONDS + self._timeout,
                    )
                except NOTHING_FETCHED:
                    empty += 1
                    if empty % _CHECK_EVERY == 0 and not self._exists():
                        subscription = None
                    continue
                empty = 0
                self._handle(messages)
            except Exception as exc:
                failures += 1
                subscription = None
                (log.warning if failures == 1 else log.debug)(
                    "bus.effect_pull_failed",
                    durable=self.durable,
                    error=f"{type(exc).__name__}: {exc}",
                    hint="retrying; messages wait in the stream",
                )
                self._stop.wait(backoff(failures, cap=5.0))

    def _bind(self) -> JetStreamContext.PullSubscription:
        """Create the durable consumer if it does not exist yet (the same configuration from
        every process, so creating it again is a no-op) and subscribe to pull from it."""
        config = api.ConsumerConfig(
            durable_name=self.durable,
            description=f"repayguard effect: {self.consumer} handles {self.name}",
            deliver_policy=api.DeliverPolicy.ALL,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait,
            max_ack_pending=self._max_batch,
            max_deliver=-1,
            filter_subject=self._subject,
        )
        js = self._js()
        try:
            self._loop.run(js.add_consumer(self._stream, config), timeout=self._timeout)
        except Exception as exc:
            # An existing durable with another configuration (an ack_wait changed since): keep
            # using it as it is rather than not consuming at all.
            if not self._exists():
                raise
            log.warning(
                "bus.effect_consumer_kept",
                durable=self.durable,
                error=f"{type(exc).__name__}: {exc}",
                hint="delete the consumer to apply new settings",
            )
        return self._loop.run(
            js.pull_subscribe_bind(consumer=self.durable, stream=self._stream),
            timeout=self._timeout,
        )

    def _release(self) -> None:
        """Unsubscribe the pull inbox (a pull subscription's queue would hold up closing)."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            # The connection may be going or gone: then there is nothing left to release.
            with contextlib.suppress(Exception):
                self._loop.run(subscription.unsubscribe(), timeout=self._timeout)

    def _exists(self) -> bool:
        try:
            self._loop.run(
                self._js().consumer_info(self._stream, self.durable), timeout=self._timeout
            )
        except NotFoundError:
            return False
        return True

    def _handle(self, fetched: list[Msg]) -> None:
        readable: list[Msg] = []
        messages: list[Message] = []
        for msg in fetched:
            try:
                messages.append(decode(msg.data))
            except Exception:
                # A body no process can read will never be readable: drop it, loudly.
                log.exception("bus.effect_unreadable", durable=self.durable, subject=msg.subject)
                self._loop.run(msg.term(), timeout=self._timeout)
                continue
            readable.append(msg)
        if not readable:
            return
        keep_alive = [
            asyncio.run_coroutine_threadsafe(self._keep_alive(msg), self._loop.loop)
            for msg in readable
        ]
        try:
            self._handler(messages)
        except Exception:
            attempt = max(msg.metadata.num_delivered for msg in readable)
            delay = backoff(attempt)
            log.exception(
                "bus.effect_failed",
                consumer=self.consumer,
                message=messages[0].name,
                message_ids=[message.message_id for message in messages],
                attempt=attempt,
                retry_in_seconds=delay,
            )
            for msg in readable:
                self._settle(msg.nak(delay=delay))
            return
        finally:
            for alive in keep_alive:
                alive.cancel()
        for msg in readable:
            self._settle(msg.ack_sync(timeout=self._timeout))

    def _settle(self, reply: Coroutine[Any, Any, object]) -> None:
        try:
            self._loop.run(reply, timeout=self._timeout + 1)
        except Exception as exc:
            # Unsettled, JetStream delivers the message again after ack_wait; the idempotent
            # handler recognises what it already did.
            log.warning(
                "bus.effect_ack_failed",
                durable=self.durable,
                error=f"{type(exc).__name__}: {exc}",
            )

    async def _keep_alive(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self._ack_wait / 3)
            await msg.in_progress()
