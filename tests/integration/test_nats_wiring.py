"""Bootstrap on the shared bus: who consumes effects, and a change committed by one process
reaching another process's authorize view (PostgreSQL and SQLite, real NATS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from repayguard import ingestion
from repayguard.bootstrap import Container, bootstrap
from repayguard.config import Settings
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock
from repayguard.platform.nats_bus import NatsBus
from repayguard.platform.nats_io import durable_name

from support.builders import failing_debits_history
from support.common import NOW, make_settings
from support.nats import NATS_URL, Names, jetstream_call, wait_until


def _on_nats(database_url: str, data_dir: Path, names: Names) -> Settings:
    return names.settings(make_settings(database_url, data_dir))


def _durables(stream: str) -> set[str]:
    async def names(js: Any) -> set[str]:
        return {
            info.config.durable_name
            for info in await js.consumers_info(stream)
            if info.config.durable_name
        }

    result: set[str] = jetstream_call(NATS_URL, names)
    return result


def test_a_one_shot_process_consumes_nothing_and_a_server_binds_every_effect(
    tmp_path: Path, names: Names
) -> None:
    settings = _on_nats(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, names)
    with bootstrap(settings, clock=FixedClock(NOW), migrate=True) as one_shot:
        assert isinstance(one_shot.bus, NatsBus)
        assert _durables(names.stream) == set()
    with bootstrap(settings, clock=FixedClock(NOW), consume=True):
        online = durable_name("decisions.online", ingestion.EVENTS_INGESTED)
        wait_until(lambda: online in _durables(names.stream), what="the effect consumers bound")


def test_a_change_committed_by_one_process_reaches_the_view_of_another(
    database_url: str, tmp_path: Path, names: Names
) -> None:
    settings = _on_nats(database_url, tmp_path, names)
    clock = FixedClock(NOW)
    server: Container
    with (
        bootstrap(settings, clock=clock, migrate=True, serve_view=True, consume=True) as server,
        bootstrap(settings, clock=clock) as cli,
    ):
        assert server.view is not None
        ingest_events(
            IngestEvents(failing_debits_history("B-SHARED", NOW), source="test"),
            uow=cli.uow(),
            setup=cli.ingest,
        )
        # The server's online consumer decides (an effect), the change comes back to its view
        # through the stream (following).
        wait_until(
            lambda: server.view is not None and server.view.get("B-SHARED") is not None,
            what="the borrower's entitlement in the server's view",
        )
        entitlement = server.view.get("B-SHARED")
        assert entitlement is not None
        assert entitlement.states.auto_debit == "disabled"
