"""The shared bus when its server goes away: a NATS server this test owns is stopped and
started again while messages are committed through the outbox. Nothing is lost or doubled,
followers resume where they were, and readiness says so in between."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from repayguard.api.app import create_app
from repayguard.bootstrap import bootstrap
from repayguard.config import BusSettings
from repayguard.platform.clock import FixedClock, SystemClock
from repayguard.platform.consumers import idempotent
from repayguard.platform.messages import Message
from repayguard.platform.nats_bus import NatsBus
from repayguard.platform.outbox import OutboxRelay, ProcessedMessage
from repayguard.platform.uow import UnitOfWork

from support.common import NOW, make_settings
from support.facts import Effect
from support.nats import Names, OwnNatsServer, own_nats_server, wait_until


@pytest.fixture
def server(tmp_path: Path) -> Iterator[OwnNatsServer]:
    with own_nats_server(tmp_path / "nats") as started:
        yield started


def _committed(sessions: sessionmaker[Session], n: int) -> None:
    with UnitOfWork(sessions, clock=SystemClock()) as uow:
        uow.emit(Message(Effect(n=n)))
        uow.commit()


def _effects(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        count = session.scalar(
            select(func.count())
            .select_from(ProcessedMessage)
            .where(ProcessedMessage.consumer == "test.effect")
        )
        return int(count or 0)


def test_a_server_restart_mid_stream_loses_and_doubles_nothing(
    server: OwnNatsServer, sessions: sessionmaker[Session]
) -> None:
    names = Names.unique()
    options: dict[str, Any] = {
        "ack_wait_seconds": 2.0,
        "poll_seconds": 0.25,
        "publish_timeout_seconds": 1.0,
        "reconnect_wait_seconds": 0.2,
    }
    handled: list[str] = []
    followed: dict[int, list[int]] = {1: [], 2: []}
    reloads: list[int] = []
    lock = threading.Lock()

    def effect(message: Message, uow: UnitOfWork) -> None:
        with uow:
            uow.commit()
        with lock:
            handled.append(message.message_id)

    buses: list[NatsBus] = []
    try:
        for process in (1, 2):
            bus = names.bus(server.url, **options)
            buses.append(bus)
            bus.open()
            bus.subscribe(
                Effect,
                idempotent(
                    "test.effect", effect, uow=lambda: UnitOfWork(sessions, clock=SystemClock())
                ),
                consumer="test.effect",
            )
            bus.follow(Effect, lambda m, p=process: followed[p].append(m.payload["n"]))
            bus.on_gap(lambda p=process: reloads.append(p))
            bus.start(effects=True)
        publisher = names.bus(server.url, **options)
        buses.append(publisher)
        publisher.open()
        publisher.start(effects=False)
        relay = OutboxRelay(sessions, publisher, clock=SystemClock())

        for n in range(10):
            _committed(sessions, n)
        assert relay.drain() == 10
        wait_until(lambda: _effects(sessions) == 10, what="the first ten effects")

        server.stop()
        wait_until(lambda: not any(b.health().connected for b in buses), what="disconnection")
        for n in range(10, 20):
            _committed(sessions, n)
        relay.drain()
        assert relay.pending() == 10, "a message the bus did not take stays in the outbox"
        wait_until(lambda: buses[0].staleness() > 1.5, what="the followed state aging")
        assert buses[0].health().disconnected_since is not None

        server.start()
        wait_until(lambda: relay.drain() >= 0 and relay.pending() == 0, what="the outbox empty")
        wait_until(lambda: _effects(sessions) == 20, seconds=30, what="all twenty effects")
        wait_until(
            lambda: followed[1] == followed[2] == list(range(20)), what="both followers, in order"
        )
        assert len(handled) == len(set(handled)) == 20, "no effect happened twice"
        for bus in buses[:2]:
            wait_until(lambda b=bus: b.staleness() < 1.0, what="fresh again")
            assert bus.health().connected
        assert reloads == [], "the followers resumed from their sequence; nothing needed a reload"
    finally:
        for bus in buses:
            bus.close()


def test_readyz_says_not_ready_while_the_bus_is_away_and_ready_after(
    server: OwnNatsServer, tmp_path: Path
) -> None:
    names = Names.unique()
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    settings = settings.model_copy(
        update={
            "bus": BusSettings(
                url=server.url,
                stream=names.stream,
                subject_prefix=names.prefix,
                relay="inline",
                max_view_age_seconds=1.0,
                reconnect_wait_seconds=0.2,
            )
        }
    )
    container = bootstrap(settings, clock=FixedClock(NOW), migrate=True, serve_view=True)
    with TestClient(create_app(container)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ready"

        server.stop()
        wait_until(lambda: client.get("/readyz").status_code == 503, what="not ready")
        refused = client.get("/readyz")
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "not_ready"
        assert "bus disconnected since" in refused.json()["detail"]
        authorized = client.post(
            "/v1/authorize", json={"borrower_id": "B1", "method": "manual", "channel": "bank_card"}
        )
        assert authorized.status_code == 200, "authorize keeps answering from the view"

        server.start()
        wait_until(lambda: client.get("/readyz").status_code == 200, what="ready again")
