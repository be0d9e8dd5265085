"""Database engine and ORM base: SQLite (WAL, synchronous=FULL, foreign keys) or PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import DateTime, Engine, MetaData, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from repayguard.errors import InvalidInput
from repayguard.platform.durability import restore_on_checkin

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every ORM model; capabilities declare their tables on it."""

    metadata = MetaData(naming_convention=NAMING)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets zones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a timezone-aware UTC time")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def normalise_url(url: str) -> str:
    """Prefer psycopg 3 for PostgreSQL URLs given without a driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine with repayguard's connection settings applied on every connection."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"timeout": 30}, **_JSON_CODEC)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", restore_on_checkin)
        return engine
    engine = create_engine(url, echo=echo, pool_pre_ping=True, **_JSON_CODEC)
    event.listen(engine, "before_cursor_execute", _refuse_nul_text)
    return engine


def _refuse_nul_text(
    _connection: Any,
    _cursor: Any,
    _statement: str,
    parameters: Any,
    _context: Any,
    executemany: bool,
) -> None:
    """PostgreSQL can neither store nor compare text holding a NUL character (U+0000): the
    driver fails inside the statement, and an id, name or comment sent with one was a 500.
    Refuse such text as invalid input before it is sent (SQLite stores it, so needs no check).
    A scan of 100,000 bulk rows takes ~40 ms, a small part of writing them."""
    if not parameters:
        return
    for row in parameters if executemany else (parameters,):
        values = row.values() if isinstance(row, Mapping) else row
        if any(isinstance(value, str) and "\x00" in value for value in values):
            raise InvalidInput(
                "text with a NUL character (U+0000) cannot be stored or searched for",
                hint="remove the NUL character",
            )


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


# JSON columns (reasons, channels, payloads) are read and written by the hundred thousand in a
# batch run; orjson is ~5x faster than the standard library there.
_JSON_CODEC: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": orjson.loads}


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
    # WAL lets readers (the authorize view reload, the CLI) work while a writer commits;
    # synchronous=FULL makes a committed transaction survive power loss, not only a crash.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    # 64 MiB of page cache (the default is 2 MiB): appends land in random places of the
    # event_id and borrower indexes, and a cache smaller than those indexes turns every insert
    # into page evictions (measured: 11 µs -> see docs/ARCHITECTURE.md).
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def table_of(model: type[Base]) -> Table:
    """The Core table behind an ORM model (for bulk statements that skip the ORM)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
