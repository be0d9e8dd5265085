"""Migrations: they build exactly the tables the models declare, on SQLite and PostgreSQL; and
the engine's settings on each."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

import repayguard.api.app
import repayguard.audit
import repayguard.borrowers
import repayguard.risk  # noqa: F401
from repayguard.bootstrap import Container
from repayguard.errors import InvalidInput
from repayguard.platform import schema
from repayguard.platform.db import Base, make_engine


def test_migrations_match_the_models(container: Container) -> None:
    with container.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrading_a_current_database_is_a_no_op(container: Container) -> None:
    schema.upgrade(container.engine)
    assert schema.is_current(container.engine)


def test_sqlite_runs_with_wal_full_sync_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'nested' / 'r.db'}")
    try:
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    finally:
        engine.dispose()


def test_text_with_a_nul_character_is_invalid_input_where_the_database_cannot_hold_it(
    container: Container,
) -> None:
    """PostgreSQL fails inside the statement on a NUL character (an id sent with one was a
    500 over HTTP); the engine refuses it first. SQLite stores it."""
    query = text("SELECT :value")
    with container.engine.connect() as connection:
        if container.engine.dialect.name == "sqlite":
            assert connection.execute(query, {"value": "a\x00b"}).scalar() == "a\x00b"
            return
        with pytest.raises(InvalidInput, match="NUL character"):
            connection.execute(query, {"value": "a\x00b"})
        assert connection.execute(query, {"value": "ab"}).scalar() == "ab"
