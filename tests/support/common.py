"""The fixed time, the operator password, settings and fresh databases every test builds on."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from repayguard.config import Settings
from repayguard.platform import schema
from repayguard.platform.db import make_engine

POSTGRES_ADMIN_URL = os.environ.get(
    "REPAYGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
OPERATOR_PASSWORD = "correct-horse-battery-staple"
"""The password CLI tests give their operators and type at the '--as NAME' prompt."""


class MigratedTemplates:
    """Empty stores at the current schema, migrated once per test process and copied for each
    test that wants one: migrating from nothing costs about 0.3 s on SQLite and 0.6–1 s on
    PostgreSQL, a file copy or a ``CREATE DATABASE … TEMPLATE`` about 0.01 s and 0.2 s.

    Only the schema is in a template: what a container seeds when it opens (the shipped policy,
    at the test's clock) is still written by the test's own bootstrap.
    """

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._sqlite: Path | None = None
        self._postgres: str | None = None

    def sqlite(self) -> Path:
        """The migrated SQLite file (built on first use; no connection is left open on it)."""
        if self._sqlite is None:
            path = self._directory / "template.db"
            _migrate(f"sqlite:///{path}")
            self._sqlite = path
        return self._sqlite

    def postgres(self, admin: Engine) -> str:
        """The name of the migrated PostgreSQL template database (built on first use)."""
        if self._postgres is None:
            name = f"rg_template_{uuid.uuid4().hex[:12]}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            _migrate(_postgres_url(name))
            self._postgres = name
        return self._postgres

    def close(self) -> None:
        """Drop the PostgreSQL template, if one was built."""
        if self._postgres is None:
            return
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{self._postgres}" WITH (FORCE)'))
        admin.dispose()
        self._postgres = None


def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()


def _postgres_url(name: str) -> str:
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@contextmanager
def fresh_database(
    kind: str, directory: Path, *, template: MigratedTemplates | None = None
) -> Iterator[str]:
    """The URL of a fresh database of ``kind``: a SQLite file in ``directory``, or a new
    PostgreSQL database (dropped after). Empty, or with ``template`` a copy of a store
    migrated to the current schema.

    PostgreSQL must answer on 127.0.0.1:5432; when it does not, the test fails (it never skips),
    so a CI run without it is red.
    """
    if kind == "sqlite":
        path = directory / "repayguard.db"
        if template is not None:
            shutil.copyfile(template.sqlite(), path)
        yield f"sqlite:///{path}"
        return
    name = f"rg_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        like = f' TEMPLATE "{template.postgres(admin)}"' if template is not None else ""
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"{like}'))
    except Exception as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(
            f"PostgreSQL is required at {POSTGRES_ADMIN_URL} and did not answer: {exc}. "
            "Start it (see .ci/run) — integration tests run on SQLite and PostgreSQL."
        )
    try:
        yield _postgres_url(name)
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
