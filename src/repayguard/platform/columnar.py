"""Columnar reads: a SQL query's result straight into a Polars frame through ADBC (Arrow).

Row-by-row DB-API fetching costs about 2 µs a value in Python; ADBC hands over Arrow batches
(3.5x faster on SQLite, measured in docs/ARCHITECTURE.md). On SQLite the read runs in a child
process: ADBC links its own copy of the SQLite library, and two copies in one process break each
other's POSIX locks and the WAL index mapping (a bus error was observed). Separate processes are
SQLite's ordinary, safe concurrency.

A child costs its start-up (importing pyarrow and ADBC: about a second, more on a loaded
machine), which a read of a few narrow columns never wins back: :func:`read_in_session` reads
those through the caller's own connection instead, the driver's C loop fetching tuples and each
column built once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

_SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.f"


def read_frame(
    engine: Engine, query: str, param_sets: Sequence[Sequence[Any]], schema: pl.Schema
) -> pl.DataFrame:
    """Run ``query`` (placeholders ``?``; its columns named and ordered as ``schema``) once
    per parameter set and return all rows, in parameter-set order, as a frame of exactly that
    schema. On SQLite the parameter sets run side by side, one process each (callers split a
    large scan into disjoint ranges to use every core). Datetimes must be UTC."""
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database:
            raise ValueError("a columnar read needs a SQLite file, not an in-memory database")
        frame = _read_sqlite(
            database, query, [[_sqlite_param(p) for p in ps] for ps in param_sets], schema
        )
    else:
        frame = pl.concat(
            [_read_postgresql(engine, query, ps) for ps in param_sets], how="vertical_relaxed"
        )
    return frame.cast(dict(schema.items())).select(schema.names())


def read_in_session(
    session: Session, query: str, params: Sequence[Any], schema: pl.Schema
) -> pl.DataFrame:
    """Run ``query`` (placeholders ``?``; columns named and ordered as ``schema``) inside the
    session's transaction and return its rows as a frame of exactly that schema — what
    :func:`read_frame` returns, without a child process. On SQLite the rows come through the
    session's own connection: for a table of a few columns (current entitlements, ~8 values a
    row) fetching tuples in the driver's C loop costs less than a reader child's start-up.
    Elsewhere it is :func:`read_frame` (ADBC in this process). Datetimes must be UTC."""
    bind = session.get_bind()
    if bind.dialect.name != "sqlite":
        assert isinstance(bind, Engine)
        return read_frame(bind, query, [params], schema)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    cursor = raw.cursor()
    try:
        rows = cursor.execute(query, [_sqlite_param(p) for p in params]).fetchall()
    finally:
        cursor.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    frame = pl.DataFrame(
        [
            pl.Series(name, values, pl.String() if isinstance(dtype, pl.Datetime) else dtype)
            for (name, dtype), values in zip(schema.items(), columns, strict=True)
        ]
    )
    return frame.with_columns(
        pl.col(name).str.to_datetime(_SQLITE_TIME, time_unit="us").dt.replace_time_zone("UTC")
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Datetime)
    )


def _sqlite_param(value: Any) -> Any:
    # The text form SQLAlchemy stores datetimes in on SQLite, so comparisons order by time.
    return value.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(value, datetime) else value


def _read_sqlite(
    database: str, query: str, param_sets: list[list[Any]], schema: pl.Schema
) -> pl.DataFrame:
    # SQLite has no column types and ADBC infers them from the first rows; a typed first row
    # (marked _real = 0, dropped below) pins them, whatever the first real rows hold.
    pins = ", ".join(f"{_pin(dtype)} AS {name}" for name, dtype in schema.items())
    pinned = f"SELECT {pins}, 0 AS _real UNION ALL SELECT *, 1 FROM ({query})"
    with tempfile.TemporaryDirectory(prefix="repayguard-scan-") as folder:
        targets = [str(Path(folder) / f"part{i}.arrow") for i in range(len(param_sets))]
        children = [
            subprocess.Popen(
                [sys.executable, "-m", "repayguard.platform._sqlite_scan"],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in param_sets
        ]
        for child, params, target in zip(children, param_sets, targets, strict=True):
            request = {"database": database, "query": pinned, "params": params, "target": target}
            assert child.stdin is not None
            child.stdin.write(json.dumps(request))
            child.stdin.close()  # every child has its request before any is waited for
        failures = []
        for child in children:
            assert child.stderr is not None
            with child.stderr:
                stderr = child.stderr.read()
            if child.wait() != 0:
                failures.append(stderr.strip()[-2000:])
        if failures:
            raise RuntimeError(f"columnar SQLite read failed: {failures[0]}")
        frame = pl.concat([pl.read_ipc(target) for target in targets], how="vertical_relaxed")
    frame = frame.filter(pl.col("_real") == 1).drop("_real")
    return frame.with_columns(
        pl.col(name).str.to_datetime(_SQLITE_TIME, time_unit="us").dt.replace_time_zone("UTC")
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Datetime)
    )


def _pin(dtype: pl.DataType) -> str:
    if dtype == pl.String or isinstance(dtype, pl.Datetime):
        return "''"
    if dtype.is_float():
        return "0.0"
    return "0"


def _read_postgresql(engine: Engine, query: str, params: Sequence[Any]) -> pl.DataFrame:
    import adbc_driver_postgresql.dbapi as adbc_pg

    numbered = query
    for index in range(1, len(params) + 1):
        numbered = numbered.replace("?", f"${index}", 1)
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with adbc_pg.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute(numbered, list(params))
        table = cursor.fetch_arrow_table()
    # json/jsonb arrive as an Arrow extension type; its storage is the JSON text.
    table = pa.table(
        {
            name: pa.chunked_array(
                [chunk.storage for chunk in column.chunks], column.type.storage_type
            )
            if isinstance(column.type, pa.BaseExtensionType)
            else column
            for name, column in zip(table.column_names, table.columns, strict=True)
        }
    )
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    return frame
