"""Bulk appends and upserts: a Polars frame into a table through the driver's ``executemany``.

SQLAlchemy's per-row parameter processing costs more than SQLite's insert itself (profiled at
~10 µs a row); a batch decision run writes 100,000 rows. Here the frame is encoded column by
column — JSON text for list columns, the text form ``UtcDateTime`` stores on SQLite — and the
rows go to the driver as plain tuples zipped from the encoded columns (each column turned into
Python values once; ``DataFrame.rows()`` builds every tuple value by value and cost more) — or,
on PostgreSQL, through one ``COPY`` (``platform.copy_in``): no statement per row at all.
A caller that can encode ahead of its transaction (an event import, on its reading thread)
takes :func:`sqlite_rows` and hands the tuples to :func:`insert_rows` later.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import polars as pl
from sqlalchemy import Table
from sqlalchemy.orm import Session

from repayguard.platform.copy_in import copy_rows, copy_upsert

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.6f"


def append_frame(
    session: Session, table: Table, frame: pl.DataFrame, *, ignore_conflicts: bool = False
) -> None:
    """Insert every row of ``frame`` (columns named as the table's) in the session's
    transaction. List columns hold identifiers (reason codes, channels) and become JSON arrays.
    ``ignore_conflicts`` skips rows that collide with a unique key instead of failing."""
    if frame.is_empty():
        return
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    encoded = encode(frame, sqlite=sqlite)
    if not sqlite and not ignore_conflicts:
        copy_rows(session, table.name, encoded)
        return
    insert_rows(
        session,
        table.name,
        frame.columns,
        list(_tuples(encoded)),
        ignore_conflicts=ignore_conflicts,
    )


def sqlite_rows(frame: pl.DataFrame) -> list[tuple[Any, ...]]:
    """The rows of ``frame`` encoded as SQLite keeps them (as :func:`append_frame` encodes
    them), as the tuples ``executemany`` takes: built once, stored later by
    :func:`insert_rows`."""
    return list(_tuples(encode(frame, sqlite=True)))


def insert_rows(
    session: Session,
    table: str,
    columns: Sequence[str],
    rows: list[tuple[Any, ...]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """Insert already encoded rows (values in ``columns`` order) into ``table`` in the
    session's transaction by one ``executemany``; ``ignore_conflicts`` skips rows that
    collide with a unique key instead of failing."""
    if not rows:
        return
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    marks = ", ".join("?" if sqlite else "%s" for _ in columns)
    verb = "INSERT OR IGNORE" if sqlite and ignore_conflicts else "INSERT"
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts and not sqlite else ""
    statement = f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks}){tail}"
    connection.exec_driver_sql(statement, rows)


def upsert_frame(
    session: Session,
    table: Table,
    frame: pl.DataFrame,
    *,
    key: Sequence[str],
    only_if: str | None = None,
) -> None:
    """Insert every row of ``frame`` (columns named as the table's, at most one row per
    ``key``), or replace every other column of the stored row with the same ``key`` (only
    where the SQL condition ``only_if`` holds, when given: ``excluded.<column>`` is the new
    value), in the session's transaction. Columns are encoded as :func:`append_frame` encodes
    them; a JSON column that is not a list must arrive as its JSON text."""
    if frame.is_empty():
        return
    connection = session.connection()
    sqlite = connection.dialect.name == "sqlite"
    encoded = encode(frame, sqlite=sqlite)
    if not sqlite:
        copy_upsert(session, table.name, encoded, key=key, only_if=only_if)
        return
    columns = ", ".join(frame.columns)
    marks = ", ".join("?" for _ in frame.columns)
    replaced = ", ".join(f"{c} = excluded.{c}" for c in frame.columns if c not in key)
    statement = (
        f"INSERT INTO {table.name} ({columns}) VALUES ({marks}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {replaced}"
        + ("" if only_if is None else f" WHERE {only_if}")
    )
    connection.exec_driver_sql(statement, list(_tuples(encoded)))


def encode(frame: pl.DataFrame, *, sqlite: bool) -> pl.DataFrame:
    """``frame`` with every column in the form the store keeps it: list columns as JSON
    arrays, and on SQLite datetimes as ``UtcDateTime``'s text."""
    return frame.select(_encode(name, dtype, sqlite=sqlite) for name, dtype in frame.schema.items())


def _tuples(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    return zip(*(column.to_list() for column in frame.iter_columns()), strict=True)


def _encode(name: str, dtype: pl.DataType, *, sqlite: bool) -> pl.Expr:
    column = pl.col(name)
    if isinstance(dtype, pl.List):
        # Elements are validated identifiers (no quotes or backslashes), so joining is exact.
        joined = pl.lit('["') + column.list.join('","') + pl.lit('"]')
        return (
            pl.when(column.is_null())
            .then(None)
            .when(column.list.len() == 0)
            .then(pl.lit("[]"))
            .otherwise(joined)
            .alias(name)
        )
    if sqlite and isinstance(dtype, pl.Datetime):
        return column.dt.convert_time_zone("UTC").dt.strftime(_SQLITE_TIME).alias(name)
    return column
