"""The online path from ingested events to authorize: what reaches the authorize view, and
when, relative to the consumers the same messages trigger (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from repayguard.approvals.consumers import SupersededHeldDecisions
from repayguard.bootstrap import Container, bootstrap
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

from support.builders import failing_debits_history
from support.common import NOW, make_settings


@pytest.fixture
def failing_approvals(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Container]:
    """A wired repayguard whose approvals consumer of entitlement changes always fails."""

    def down(self: SupersededHeldDecisions, message: Message, uow: UnitOfWork) -> None:
        raise ConnectionError("approvals down")

    monkeypatch.setattr(SupersededHeldDecisions, "on_changed", down)
    settings = make_settings(database_url, tmp_path)
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        yield built


def test_authorize_has_a_change_before_the_consumers_of_that_change_run(
    failing_approvals: Container,
) -> None:
    container = failing_approvals
    ingest_events(
        IngestEvents(failing_debits_history("B1", NOW), source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )

    assert container.relay.pending() > 0, "the change is held back behind the failed consumer"
    assert container.view is not None
    entitlement = container.view.get("B1")
    assert entitlement is not None
    assert entitlement.states.auto_debit == "disabled"
