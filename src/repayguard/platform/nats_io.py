"""What the NATS bus's parts share: the loop thread, the wire format, names and backoff."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import nats.errors
import nats.js.errors
import orjson

from repayguard.platform.messages import Message

T = TypeVar("T")

ROOT = "repayguard."
"""Every message name starts with this; the stream holds ``<prefix>repayguard.>``."""

# What a fetch that found nothing raises (a long poll that expired, or no answer while the
# connection is down): not an error, the moment to check freshness.
NOTHING_FETCHED: tuple[type[BaseException], ...] = (
    TimeoutError,
    nats.errors.TimeoutError,
    nats.js.errors.FetchTimeoutError,
)


class LoopThread:
    """One asyncio event loop on a daemon thread, owned by the bus.

    nats-py is asyncio and repayguard is synchronous: sync code submits a coroutine with
    :meth:`run` and waits for its result. Handlers never run here, so a slow one cannot stall
    publishing, acks or reconnection.
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float) -> T:
        """Run ``coro`` on the loop and wait up to ``timeout`` seconds for its result (on
        timeout the coroutine is cancelled and ``TimeoutError`` raised)."""
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self.loop.close()


def encode(message: Message) -> bytes:
    """A message's body on the wire: its name, version, id and payload as JSON."""
    return orjson.dumps(
        {
            "name": message.name,
            "version": message.version,
            "message_id": message.message_id,
            "payload": message.payload,
        }
    )


def decode(data: bytes) -> Message:
    body = orjson.loads(data)
    return Message.decode(
        body["name"],
        body["payload"],
        message_id=body["message_id"],
        version=int(body["version"]),
    )


def durable_name(consumer: str, name: str) -> str:
    """The JetStream durable consumer of one effect (``consumer`` handling ``name``): readable,
    stable across releases and processes, and valid (no dots, wildcards or spaces); the hash
    keeps two pairs that read alike after cleaning apart."""
    readable = re.sub(r"[^A-Za-z0-9_-]+", "_", f"{consumer}--{name.removeprefix(ROOT)}")
    digest = hashlib.sha256(f"{consumer}\n{name}".encode()).hexdigest()[:10]
    return f"{readable[:100]}-{digest}"


def backoff(attempt: int, *, base: float = 0.5, cap: float = 60.0) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (1, 2, … failures so far): doubling."""
    return float(min(cap, base * 2.0 ** max(0, attempt - 1)))
