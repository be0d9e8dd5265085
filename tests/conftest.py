"""Shared fixtures: a real database (a SQLite file, or a fresh PostgreSQL database) per test."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog
from sqlalchemy import create_engine, text

# The CLI's rich consoles take their width from COLUMNS when first imported; give every test
# the same wide terminal, whatever runs first, so tables never wrap an id under test.
os.environ["COLUMNS"] = "200"

from repayguard.bootstrap import Container, bootstrap
from repayguard.config import Settings
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

# Fixtures of the shared-bus kit (a unique NATS stream per test, a migrated database).
pytest_plugins = ["nats_kit"]

POSTGRES_ADMIN_URL = os.environ.get(
    "REPAYGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPERATOR_PASSWORD = "correct-horse-battery-staple"
"""The password CLI tests give their operators and type at the '--as NAME' prompt."""


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database (dropped after)."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """The URL of a fresh, empty database of ``kind``: a SQLite file in ``directory``, or a new
    PostgreSQL database (dropped after).

    PostgreSQL must answer on 127.0.0.1:5432; when it does not, the test fails (it never skips),
    so a CI run without it is red.
    """
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'repayguard.db'}"
        return
    name = f"rg_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(
            f"PostgreSQL is required at {POSTGRES_ADMIN_URL} and did not answer: {exc}. "
            "Start it (see .ci/run) — integration tests run on SQLite and PostgreSQL."
        )
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def make_settings(
    database_url: str, data_dir: Path, *, auth: str = "off", **decisions: object
) -> Settings:
    """Test settings: inline relay; access control off unless a test is about it."""
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database={"url": database_url},
        bus={"relay": "inline"},
        security={"auth": auth},
    )
    if decisions:
        settings = settings.model_copy(
            update={"decisions": settings.decisions.model_copy(update=decisions)}
        )
    return settings


@pytest.fixture
def container(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    """A wired repayguard on a fresh database: inline relay, recording bus, fixed clock,
    online deciding on, the entitlement view loaded."""
    settings = make_settings(database_url, tmp_path)
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        yield built


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the process's logging back as it was after a test that configured it."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.reset_defaults()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


_SUMMARIES: dict[str, list[str]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Collect the tables tests record as ``summary:<title>`` properties (also from xdist
    workers: their reports carry user properties back to the main process)."""
    if report.when != "call":
        return
    for name, value in report.user_properties:
        if name.startswith("summary:"):
            lines = value if isinstance(value, list) else [value]
            _SUMMARIES[name.removeprefix("summary:")] = [str(line) for line in lines]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for title, lines in _SUMMARIES.items():
        terminalreporter.section(title)
        for line in lines:
            terminalreporter.write_line(line)
