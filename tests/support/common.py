"""The fixed time, the operator password, settings and fresh databases every test builds on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from repayguard.config import Settings

POSTGRES_ADMIN_URL = os.environ.get(
    "REPAYGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPERATOR_PASSWORD = "correct-horse-battery-staple"
"""The password CLI tests give their operators and type at the '--as NAME' prompt."""


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
    """Test settings: inline relay; access control and rate limits off unless a test is
    about them."""
    settings = Settings(
        env="test",
        data_dir=data_dir,
        database={"url": database_url},
        bus={"relay": "inline"},
        security={"auth": auth},
        rate_limit={"enabled": False},
    )
    if decisions:
        settings = settings.model_copy(
            update={"decisions": settings.decisions.model_copy(update=decisions)}
        )
    return settings
