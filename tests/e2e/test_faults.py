"""Faults under running processes: PostgreSQL restarted under `repayguard serve` and a worker
(503 with a clear problem meanwhile, recovery without a restart, nothing committed lost); a
worker killed with SIGKILL in the middle of a job (another takes the job over once its lease
expires and finishes it once); a SQLite store that is full or read-only (a clear 503, nothing
half-written)."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from repayguard.api.app import create_app
from repayguard.bootstrap import bootstrap
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import healthy_history
from support.common import fresh_database, make_settings
from support.deployment import Deployment, Replica, deployment
from support.nats import wait_until
from support.postgres import own_postgres

PROBLEM = "application/problem+json"


def _count(url: str, query: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(query)).scalar_one())
    finally:
        engine.dispose()


def _send(replica: Replica, token: str, events: list[dict[str, Any]]) -> Any:
    return replica.post("/v1/events", token, json={"events": events})


@pytest.mark.postgres
@pytest.mark.slow
def test_a_postgres_restart_answers_503_meanwhile_and_recovers_without_a_restart(
    tmp_path: Path,
) -> None:
    now = datetime.now(UTC)
    with own_postgres() as cluster, deployment(tmp_path, cluster.url) as running:
        running.cli("db", "upgrade")
        app = running.token("--service", "lender-app").secret
        replica = running.serve("serve")
        worker = running.worker("worker")
        before = _send(replica, app, healthy_history("P1", now))
        assert before.status_code == 200, before.text
        _decided(running, batches=1)

        cluster.stop()
        during = _send(replica, app, healthy_history("P2", now))
        ready = replica.get("/readyz")
        allowed = replica.post("/v1/authorize", app, json={"borrower_id": "P1", "method": "manual"})

        assert during.status_code == 503, during.text
        assert during.headers["content-type"] == PROBLEM
        assert during.json()["code"] == "database_unavailable"
        assert "nothing of this request was saved" in during.json()["detail"]
        assert ready.status_code == 503
        assert allowed.status_code == 200, "authorize keeps answering from memory"

        cluster.start()
        wait_until(
            lambda: _send(replica, app, healthy_history("P3", now)).status_code == 200,
            seconds=60,
            what="serve to store events again after the restart",
        )
        wait_until(lambda: replica.get("/readyz").status_code == 200, seconds=60, what="ready")
        _decided(running, batches=2)

        assert worker.popen.poll() is None, worker.output()
        stored = _count(running.database_url, "SELECT count(DISTINCT borrower_id) FROM events")
        assert stored == 2, "P1 (before) and P3 (after) stored; P2 (refused) not half-written"


def _decided(running: Deployment, *, batches: int) -> None:
    """Wait until the worker decided every ingested batch (it reconnects by itself)."""
    query = "SELECT count(*) FROM decision_runs WHERE mode = 'online' AND trigger = 'events'"
    wait_until(
        lambda: _count(running.database_url, query) >= batches,
        seconds=120,
        what=f"{batches} ingested batches decided by the worker",
    )


@pytest.mark.postgres
@pytest.mark.slow
def test_a_worker_killed_mid_job_leaves_it_to_another_once_its_lease_expires(
    tmp_path: Path,
) -> None:
    lease = {"REPAYGUARD_SCHEDULER__LEASE_SECONDS": "5"}
    with fresh_database("postgres", tmp_path) as url, deployment(tmp_path, url) as running:
        running.cli("db", "upgrade")
        engine = create_engine(url)
        try:
            # Hold the entitlements table: the first job to read it stops there, mid-run, with
            # its lease taken and its run recorded as running.
            with engine.connect() as holder:
                holder.execute(text("LOCK TABLE entitlements IN ACCESS EXCLUSIVE MODE"))
                doomed = running.worker("doomed", env=lease)
                wait_until(
                    lambda: bool(_runs(url, "doomed", "running")),
                    seconds=120,
                    what="the doomed worker to be in the middle of a job",
                )
                (job,) = _runs(url, "doomed", "running")
                doomed.stop(signal.SIGKILL)
                holder.rollback()
            running.worker("heir", env=lease)
            wait_until(
                lambda: job in _runs(url, "heir", "ran"),
                seconds=120,
                what=f"another worker to finish {job}",
            )
        finally:
            engine.dispose()

        assert _runs(url, "doomed", "running") == [job], "the killed run never finished"
        assert _runs(url, "heir", "ran").count(job) == 1, "finished once"
        assert _runs(url, "doomed", "ran") == []


def _runs(url: str, holder: str, status: str) -> list[str]:
    """The jobs ``holder`` has runs of with ``status``, one entry a run."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT job FROM job_runs WHERE holder = :h AND status = :s ORDER BY job"),
                {"h": holder, "s": status},
            )
            return [str(job) for (job,) in found]
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_api(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[TestClient, str, Any]]:
    """The API over a SQLite store, and the engine to put the store in a failing state."""
    url = f"sqlite:///{tmp_path / 'r.db'}"
    settings = make_settings(url, tmp_path)
    with (
        bootstrap(
            settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
        ) as container,
        TestClient(create_app(container)) as http,
    ):
        yield http, url, container.engine


# Root ignores file modes, so the failures are made the way SQLite reports them: a page limit
# at the current size is SQLITE_FULL ("database or disk is full"), query_only is
# SQLITE_READONLY ("attempt to write a readonly database").
FAILURES = {
    "full": ("PRAGMA max_page_count = {pages}", "the database's disk is full"),
    "read-only": ("PRAGMA query_only = ON", "the database is read-only"),
}


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_full_or_read_only_sqlite_store_refuses_with_503_and_writes_nothing(
    sqlite_api: tuple[TestClient, str, Any], failure: str, clock: FixedClock
) -> None:
    http, url, engine = sqlite_api
    tables = ("events", "ingest_batches", "outbox")
    counts = {t: _count(url, f"SELECT count(*) FROM {t}") for t in tables}
    pages = _count(url, "PRAGMA page_count")
    pragma, words = FAILURES[failure]

    @event.listens_for(engine, "connect")
    def failing(connection: Any, _: Any) -> None:
        connection.execute(pragma.format(pages=pages))

    engine.dispose()  # every connection from now on is opened failing
    refused = http.post("/v1/events", json={"events": _portfolio("F", clock.now())})
    event.remove(engine, "connect", failing)
    engine.dispose()

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert (body["code"], body["detail"]) == (
        "database_unavailable",
        f"{words}; nothing of this request was saved",
    )
    assert {t: _count(url, f"SELECT count(*) FROM {t}") for t in tables} == counts
    again = http.post("/v1/events", json={"events": _portfolio("G", clock.now())})
    assert again.status_code == 200, "once the store is writable again, batches land"


def _portfolio(prefix: str, now: datetime) -> list[dict[str, Any]]:
    """A batch large enough to need new pages of the store (~1,900 events)."""
    return [e for n in range(50) for e in healthy_history(f"{prefix}{n}", now, 12)]
