"""Event files (CSV, JSONL, Parquet) read in batches of records, never whole into memory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pyarrow.parquet as pq

from repayguard.ingestion.errors import UnreadableFile
from repayguard.ingestion.validation import MalformedLine

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


def file_format(path: Path) -> str:
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        raise UnreadableFile(
            f"{path}: unknown file type {path.suffix!r}",
            hint="event files end in .csv, .jsonl (or .ndjson) or .parquet",
        )
    return fmt


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files named directly, plus the event files inside named folders (sorted by name)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
            if not found:
                raise UnreadableFile(
                    f"{path}: no .csv, .jsonl or .parquet files in this folder",
                    hint="name the event files or the folder that holds them",
                )
            files.extend(found)
        elif path.exists():
            file_format(path)
            files.append(path)
        else:
            raise UnreadableFile(f"{path}: no such file or folder")
    return files


def count_records(path: Path) -> int:
    """Number of records in a file (for progress bars); cheap for Parquet, a scan otherwise."""
    fmt = file_format(path)
    if fmt == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    if fmt == "csv":
        return int(pl.scan_csv(path, infer_schema=False).select(pl.len()).collect().item())
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def read_batches(path: Path, *, size: int) -> Iterator[list[Any] | pl.DataFrame]:
    """Yield the file's records in order, ``size`` at a time.

    Parquet and CSV batches are frames (a column per wire field, validated over columns);
    JSONL batches are lists of records, each a dict of wire fields. A JSONL line that does not
    parse is yielded as a :class:`MalformedLine` so its index is kept and it is rejected like
    any bad record. CSV is read as text: typing and its errors are the event schema's job.
    """
    fmt = file_format(path)
    try:
        if fmt == "parquet":
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(batch_size=size):
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                yield frame
        elif fmt == "csv":
            scan = pl.scan_csv(path, infer_schema=False)
            yield from scan.collect_batches(chunk_size=size)
        else:
            yield from _jsonl_batches(path, size)
    except (OSError, pl.exceptions.PolarsError, ValueError) as exc:
        raise UnreadableFile(f"{path}: cannot be read ({exc})") from exc


def _jsonl_batches(path: Path, size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                batch.append(orjson.loads(line))
            except orjson.JSONDecodeError as exc:
                batch.append(MalformedLine(number, f"line {number} is not valid JSON: {exc}"))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch
