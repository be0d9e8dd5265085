"""Shared fixtures: a real database (a SQLite file, or a fresh PostgreSQL database) per test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

# The CLI's rich consoles take their width from COLUMNS when first imported; give every test
# the same wide terminal, whatever runs first, so tables never wrap an id under test.
os.environ["COLUMNS"] = "200"

from repayguard.bootstrap import Container, bootstrap
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.common import NOW, MigratedTemplates, fresh_database, make_settings

# Fixtures of the shared-bus kit (a unique NATS stream per test, a migrated database).
pytest_plugins = ["support.nats"]


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    """This test process's stores at the current schema, copied for each test."""
    templates = MigratedTemplates(tmp_path_factory.mktemp("templates"))
    yield templates
    templates.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database at the current schema (nothing seeded): a SQLite file, or a new
    PostgreSQL database (dropped after). A test marked ``empty_database`` gets it empty."""
    template = (
        None
        if request.node.get_closest_marker("empty_database")
        else request.getfixturevalue("migrated_templates")
    )
    with fresh_database(request.param, tmp_path, template=template) as url:
        yield url


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
