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

The CSV text of such a frame can be built before its transaction opens (:func:`keyed_csv`),
so an import encodes its next batch while the current one is being copied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import psycopg
from sqlalchemy.orm import Session

_CSV_TIME = "%Y-%m-%dT%H:%M:%S%.6f%z"


@dataclass(frozen=True, slots=True)
class KeyedCsv:
    """Rows made ready for :func:`copy_new_rows`: the frame (values in their stored text
    form) in ``key`` order, and its CSV text as ``COPY`` reads it."""

    frame: pl.DataFrame
    key: str
    body: bytes


def keyed_csv(frame: pl.DataFrame, *, key: str) -> KeyedCsv:
    """``frame`` in ``key`` order with its CSV text. In key order: two transactions
    appending overlapping keys then wait for each other in one direction only, never in a
    cycle (frame order could deadlock them)."""
    ordered = frame.sort(key)
    return KeyedCsv(ordered, key, _csv(ordered))


def copy_new_rows(session: Session, table: str, rows: KeyedCsv) -> list[str]:
    """Append the rows (columns named as ``table``'s) whose key is not yet stored, in key
    order, inside the session's transaction; return the keys appended. Text values must hold
    no NUL character (PostgreSQL keeps none)."""
    if rows.frame.is_empty():
        return []
    key, columns = rows.key, rows.frame.columns
    connection = session.connection().connection.driver_connection
    assert connection is not None
    with connection.cursor() as cursor:
        cursor.execute("SAVEPOINT copy_new_rows")
        try:
            _copy_body(cursor, table, columns, rows.body)
        except psycopg.errors.UniqueViolation:
            cursor.execute("ROLLBACK TO SAVEPOINT copy_new_rows")
        else:
            cursor.execute("RELEASE SAVEPOINT copy_new_rows")
            return rows.frame[key].to_list()
        cursor.execute("RELEASE SAVEPOINT copy_new_rows")
        # Some key is stored already: only the new rows, through a temporary table.
        _through_staging(
            cursor,
            table,
            columns,
            rows.body,
            order=key,
            conflict=f"({key}) DO NOTHING RETURNING {key}",
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
            cursor,
            table,
            frame.columns,
            _csv(frame),
            order=keys,
            conflict=f"({keys}) DO UPDATE SET {replaced}",
        )


def _through_staging(
    cursor: Any, table: str, columns: Sequence[str], body: bytes, *, order: str, conflict: str
) -> None:
    """The CSV rows of ``body`` copied into a temporary twin of ``table``, then moved on by
    one ``INSERT … SELECT … ORDER BY order ON CONFLICT conflict``."""
    names = ", ".join(columns)
    staging = f"_incoming_{table}"
    # Dropped at commit, so a later schema change of ``table`` never meets a stale copy.
    cursor.execute(f"DROP TABLE IF EXISTS pg_temp.{staging}")
    cursor.execute(
        f"CREATE TEMP TABLE {staging} ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA"
    )
    _copy_body(cursor, staging, columns, body)
    # In key order: two transactions writing overlapping keys then wait for each other in
    # one direction only, never in a cycle (frame order could deadlock them).
    cursor.execute(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {staging} "
        f"ORDER BY {order} ON CONFLICT {conflict}"
    )


def _copy(cursor: Any, table: str, frame: pl.DataFrame) -> None:
    _copy_body(cursor, table, frame.columns, _csv(frame))


def _csv(frame: pl.DataFrame) -> bytes:
    # CSV tells an empty string ("") from a null (nothing), as polars writes them.
    text = frame.write_csv(include_header=False, datetime_format=_CSV_TIME, null_value="")
    return text.encode()


def _copy_body(cursor: Any, table: str, columns: Sequence[str], body: bytes) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(body)
