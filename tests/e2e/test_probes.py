"""Health probes: ``/livez`` answers without touching anything; ``/readyz`` names its checks
(database, migrations, authorize view, bus) and turns 503 when the database stops answering
(a private PostgreSQL cluster stopped under the app) or when the migrations are behind the
code; ``/healthz`` reports the same checks as information and stays 200."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.platform import schema
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.common import NOW, make_settings
from support.postgres import own_postgres

PROBLEM = "application/problem+json"
CHECKS = ["database", "migrations", "authorize_view", "bus"]
OLDER = "0001"
"""The first migration's revision."""


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[tuple[TestClient, Container]]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path)
    with (
        bootstrap(
            settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
        ) as container,
        TestClient(create_app(container)) as http,
    ):
        yield http, container


def test_a_current_process_is_alive_and_ready_with_every_check_named(
    sqlite_app: tuple[TestClient, Container],
) -> None:
    http, _ = sqlite_app
    live = http.get("/livez")
    ready = http.get("/readyz")
    health = http.get("/healthz")

    assert (live.status_code, live.json()) == (200, {"status": "alive"})
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert list(checks) == CHECKS
    assert {name: check["status"] for name, check in checks.items()} == dict.fromkeys(CHECKS, "ok")
    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert health.json()["checks"] == checks


def test_migrations_behind_the_code_make_the_process_not_ready(
    sqlite_app: tuple[TestClient, Container],
) -> None:
    http, container = sqlite_app
    heads = schema.head_revisions()
    # As if the code were upgraded and the database not: it records an older revision.
    with container.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        connection.execute(text(f"INSERT INTO alembic_version VALUES ('{OLDER}')"))

    refused = http.get("/readyz")
    live = http.get("/livez")
    health = http.get("/healthz")

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert body["code"] == "not_ready"
    migrations = body["extra"]["checks"]["migrations"]
    assert migrations["status"] == "failed"
    assert OLDER in migrations["detail"]
    assert all(head in migrations["detail"] for head in heads)
    assert "repayguard db upgrade" in migrations["detail"]
    assert body["detail"].startswith(f"migrations: the database is at {OLDER}")
    assert body["extra"]["checks"]["database"]["status"] == "ok"
    assert live.status_code == 200, "a process behind on migrations is still alive"
    assert (health.status_code, health.json()["status"]) == (200, "degraded")

    with container.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))
        for head in heads:
            connection.execute(text("INSERT INTO alembic_version VALUES (:head)"), {"head": head})
    assert http.get("/readyz").status_code == 200, "ready again once at the head"


@pytest.mark.postgres
def test_a_database_that_stops_answering_makes_the_process_not_ready_but_alive(
    tmp_path: Path,
) -> None:
    with own_postgres() as cluster:
        settings = make_settings(cluster.url, tmp_path)
        with (
            bootstrap(
                settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
            ) as container,
            TestClient(create_app(container)) as http,
        ):
            assert http.get("/readyz").status_code == 200

            cluster.stop()
            refused = http.get("/readyz")
            live = http.get("/livez")
            health = http.get("/healthz")
            cluster.start()
            again = http.get("/readyz")

    assert refused.status_code == 503, refused.text
    assert refused.headers["content-type"] == PROBLEM
    checks = refused.json()["extra"]["checks"]
    assert checks["database"]["status"] == "failed"
    assert "the database does not answer" in checks["database"]["detail"]
    assert checks["migrations"]["status"] == "skipped"
    assert checks["authorize_view"]["status"] == "ok"
    assert refused.json()["detail"].startswith("database: the database does not answer")
    assert live.status_code == 200
    assert (health.status_code, health.json()["status"]) == (200, "degraded")
    assert again.status_code == 200, again.text
