"""PostgreSQL bulk appends by ``COPY``: a frame in, only the rows with a new key kept.

``COPY`` moves rows at the server's own pace (no per-row statement), but it cannot skip a
row that collides with a unique key. So a frame is first copied straight into the table,
inside a savepoint, in key order: when every key is new — a fresh batch, the usual case —
that one ``COPY`` is the whole append, the work the store's own ceiling does. When a key
collides (a re-sent batch, or another transaction appending the same key, which ``COPY``
waits for to commit) the savepoint is rolled back and the frame goes through a temporary
table of the same columns, and one ``INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING``
moves it on: the returned keys are exactly the rows this transaction stored, also while other
transactions insert the same keys (the unique index makes a second inserter wait for the
first to commit, then skip). Either way the keys reported are exactly the rows stored, which
is what makes an ``accepted`` count true under concurrency.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
import psycopg
from sqlalchemy.orm import Session

_CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6f%z"


def copy_new_rows(session: Session, table: str, frame: pl.DataFrame, *, key: str) -> list[str]:
    """Append the rows of ``frame`` (columns named as ``table``'s) whose ``key`` is not yet
    stored, in key order, inside the session's transaction; return the keys appended.
    Text values must hold no NUL character (PostgreSQL keeps none)."""
    if frame.is_empty():
        return []
    # In key order: two transactions appending overlapping keys then wait for each other in
    # one direction only, never in a cycle (frame order could deadlock them).
    ordered = frame.sort(key)
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT copy_new_rows")
        try:
            _copy(cursor, table, ordered)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT copy_new_rows")
        else:
            cursor.execute("RELEASE SAVEPOINT copy_new_rows")
            return ordered[key].to_list()
        cursor.execute("RELEASE SAVEPOINT copy_new_rows")
        # Some key is stored already: only the new rows, through a temporary table.
        _through_staging(
            cursor, table, ordered, order=key, conflict=f"({key}) DO NOTHING RETURNING {key}"
        )
        return [row[0] for row in cursor.fetchall()]


def copy_rows(session: Session, table: str, frame: pl.DataFrame) -> None:
    """Append every row of ``frame`` (columns named as ``table``'s, values already in their
    stored text form: lists as JSON) by one ``COPY`` inside the session's transaction; a
    row colliding with a unique key fails the statement."""
    if frame.is_empty():
        return
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        _copy(cursor, table, frame)


def copy_upsert(
    session: Session,
    table: str,
    frame: pl.DataFrame,
    *,
    key: Sequence[str],
    only_if: str | None = None,
) -> None:
    """Insert the rows of ``frame`` (stored text form, at most one row per ``key``), or
    replace every other column of the row stored under the same ``key`` (where the SQL
    condition ``only_if`` holds, when given), inside the session's
    transaction: one ``COPY`` into a temporary table, then one ``INSERT … SELECT … ON
    CONFLICT DO UPDATE`` in key order (two such writers wait for each other in one direction
    only)."""
    if frame.is_empty():
        return
    keys = ", ".join(key)
    replaced = ", ".join(f"{c} = excluded.{c}" for c in frame.columns if c not in key)
    if only_if is not None:
        replaced += f" WHERE {only_if}"
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        _through_staging(
            cursor, table, frame, order=keys, conflict=f"({keys}) DO UPDATE SET {replaced}"
        )


def _through_staging(
    cursor: Any, table: str, frame: pl.DataFrame, *, order: str, conflict: str
) -> None:
    """``frame`` copied into a temporary twin of ``table``, then moved on by one ``INSERT …
    SELECT … ORDER BY order ON CONFLICT conflict``."""
    columns = ", ".join(frame.columns)
    staging = f"_incoming_{table}"
    # Dropped at commit, so a later schema change of ``table`` never meets a stale copy.
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{staging}")
    cursor.execute(
        f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS SELECT {columns} FROM {table} WITH NO DATA"
    )
    _copy(cursor, staging, frame)
    # In key order: two transactions writing overlapping keys then wait for each other in
    # one direction only, never in a cycle (frame order could deadlock them).
    cursor.execute(
        f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {staging} "
        f"ORDER BY {order} ON CONFLICT {conflict}"
    )


def _copy(cursor: Any, table: str, frame: pl.DataFrame) -> None:
    # CSV tells an empty string ("") from a null (nothing), as polars writes them.
    body = frame.write_csv(include_header=False, datetime_format=_CSV_TIME, null_value="")
    columns = ", ".join(frame.columns)
    with cursor.copy(f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(body.encode())
