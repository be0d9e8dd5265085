"""For tests on the shared bus: the NATS server to use (fails clearly when it does not answer),
a unique stream and subject prefix per test (deleted after), a nats-server a test owns and may
stop and restart, and polling until something holds within a generous deadline."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nats
import pytest
from nats.js.errors import NotFoundError
from sqlalchemy.orm import Session, sessionmaker

from repayguard.config import Settings
from repayguard.platform import schema
from repayguard.platform.db import make_engine, make_session_factory
from repayguard.platform.nats_bus import NatsBus

NATS_URL = os.environ.get("REPAYGUARD_TEST_NATS_URL", "nats://127.0.0.1:4222")
NATS_SERVER = "/usr/sbin/nats-server"


def require_nats(url: str = NATS_URL) -> None:
    """Fail (never skip) when the NATS server the tests need does not answer."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 4222), 2):
            return
    except OSError as exc:
        pytest.fail(
            f"NATS JetStream is required at {url} and did not answer: {exc}. Start it "
            "(see .ci/run) or point REPAYGUARD_TEST_NATS_URL at one."
        )


@dataclass(frozen=True, slots=True)
class Names:
    """A stream and subject prefix of one test, so tests share a server without meeting."""

    stream: str
    prefix: str

    @classmethod
    def unique(cls) -> Names:
        tag = uuid.uuid4().hex[:10]
        return cls(stream=f"RGTEST_{tag}", prefix=f"t{tag}.")

    def bus(self, url: str = NATS_URL, **options: Any) -> NatsBus:
        return NatsBus(url=url, stream=self.stream, subject_prefix=self.prefix, **options)

    def settings(self, settings: Settings) -> Settings:
        """``settings`` on the shared bus: this test's stream and prefix, a short ack wait."""
        return settings.model_copy(
            update={
                "bus": settings.bus.model_copy(
                    update={
                        "url": NATS_URL,
                        "kind": "nats",
                        "stream": self.stream,
                        "subject_prefix": self.prefix,
                        "ack_wait_seconds": 5.0,
                    }
                )
            }
        )


def delete_stream(url: str, stream: str) -> None:
    async def delete() -> None:
        client = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            await client.jetstream().delete_stream(stream)
        except NotFoundError:
            pass
        finally:
            await client.close()

    asyncio.run(delete())


def jetstream_call(url: str, call: Callable[[Any], Any]) -> Any:
    """Run ``await call(jetstream)`` on a connection of its own (the test acting as an
    operator would with the nats CLI)."""

    async def run() -> Any:
        client = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=0)
        try:
            return await call(client.jetstream())
        finally:
            await client.close()

    return asyncio.run(run())


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A migrated database (SQLite or PostgreSQL) for buses standing in for processes."""
    engine = make_engine(database_url)
    schema.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def names() -> Iterator[Names]:
    """A stream and subject prefix of this test's own, deleted after it."""
    require_nats()
    made = Names.unique()
    yield made
    delete_stream(NATS_URL, made.stream)


def wait_until(
    check: Callable[[], bool], *, seconds: float = 15.0, what: str = "the condition"
) -> None:
    """Poll ``check`` until it holds; fail after a generous deadline (never a timed
    assertion: only how long we are willing to wait)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not happen within {seconds:g} s")
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnNatsServer:
    """A nats-server with JetStream that one test starts, stops and restarts (same port,
    same store), to take the bus away from running processes."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self._store = store
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if not Path(NATS_SERVER).exists():
            pytest.fail(f"{NATS_SERVER} is missing: install Debian's nats-server (see .ci/run)")
        self._process = subprocess.Popen(
            [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self._store)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until(self._answers, seconds=15, what=f"nats-server on port {self.port} answering")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=15)
            self._process = None

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.5):
                return True
        except OSError:
            return False


@contextmanager
def own_nats_server(store: Path) -> Iterator[OwnNatsServer]:
    server = OwnNatsServer(store)
    server.start()
    try:
        yield server
    finally:
        server.stop()
