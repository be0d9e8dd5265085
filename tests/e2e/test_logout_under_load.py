"""Logout over HTTP while the background relay is busy with a 10,000-event batch's consumers:
the very next call with the ended session is refused, before the relay has delivered the
revocation (the process that revoked forgets the token itself, after the commit)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from repayguard import ingestion
from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import AddOperator, SetPassword, add_operator, set_password
from repayguard.platform.bus import InProcessBus
from repayguard.platform.messages import Message
from repayguard.platform.outbox import OutboxRow

from support.builders import healthy_history
from support.common import NOW, make_settings

PASSWORD = "correct horse battery staple"


class BusyConsumer:
    """A consumer of ingested batches that holds the relay until released: whatever is
    committed after the batch waits in the outbox behind it, as under a heavy ingest."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def __call__(self, _: Message) -> None:
        self.release.wait(timeout=120)


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, BusyConsumer]]:
    """A server's wiring: access control on, the background relay, the entitlement view."""
    settings = make_settings(database_url, tmp_path, auth="required")
    settings = settings.model_copy(
        update={"bus": settings.bus.model_copy(update={"relay": "background"})}
    )
    busy = BusyConsumer()
    bus = InProcessBus()
    with bootstrap(settings, bus=bus, migrate=True, serve_view=True) as container:
        bus.subscribe(ingestion.EventsIngested, busy, consumer="test.busy")
        add_operator(AddOperator("ana", "admin"), uow=container.uow())
        set_password(SetPassword("ana", PASSWORD), uow=container.uow())
        try:
            yield container, busy
        finally:
            busy.release.set()
            deadline = time.monotonic() + 120
            while container.relay.pending() and time.monotonic() < deadline:
                time.sleep(0.05)


def ten_thousand_events() -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    borrower = 0
    while len(events) < 10_000:
        events += healthy_history(f"B{borrower:04d}", NOW)
        borrower += 1
    return events[:10_000]


def test_logout_right_after_a_large_ingest_is_refused_on_the_very_next_call(
    server: tuple[Container, BusyConsumer],
) -> None:
    container, busy = server
    client = TestClient(create_app(container))
    login = client.post("/v1/sessions", json={"username": "ana", "password": PASSWORD})
    assert login.status_code == 201, login.text
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}

    ingested = client.post("/v1/events", json={"events": ten_thousand_events()}, headers=bearer)
    ended = client.delete("/v1/sessions/current", headers=bearer)
    after = client.get("/v1/borrowers/B0000/repayment-methods", headers=bearer)

    assert ingested.status_code == 200, ingested.text
    assert ingested.json()["accepted"] == 10_000
    assert ended.status_code == 204, ended.text
    assert after.status_code == 401, "the ended session is refused at once"
    assert not busy.release.is_set()
    with container.session_factory() as session:
        revoked = session.scalars(
            select(OutboxRow).where(OutboxRow.name == "repayguard.token.revoked")
        ).one()
    assert revoked.published_at is None, "the relay had not delivered the revocation yet"
