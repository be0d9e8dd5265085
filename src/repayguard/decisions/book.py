"""The whole book in chunks of borrowers, and the clock of a run's stages.

A book-wide run reads the history window in one sequential pass over the event store (its
append sequence, split over the cores: ``ingestion.scan_history``) and decides and writes it
chunk by chunk of consecutive borrowers, so the decision frames, entitlement diffs and writes
of a run hold one chunk at a time. Reading each chunk by its borrower range through the
``(borrower_id, occurred_at)`` index instead was measured 2.3× slower on SQLite (one table
lookup per event: 137.6 s against 59.6 s for the same 1.89M events, under the same load), so the
window is read whole — or, with a :class:`~repayguard.decisions.history_cache.HistoryCache`,
each chunk from its borrower-range buckets of a columnar copy that a run extends by the events
appended since the last one (docs/ARCHITECTURE.md, "Measured").
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
from sqlalchemy import Engine

from repayguard import ingestion
from repayguard.decisions.history_cache import HistoryCache


@dataclass(slots=True)
class Stopwatch:
    """Seconds spent per named stage of a run, summed over its chunks (``read_history`` counts
    only the time the run waited for a read, not a read that overlapped deciding)."""

    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        return {name: round(value, 3) for name, value in self.seconds.items()}


@dataclass(frozen=True, slots=True)
class BookChunk:
    """Consecutive borrowers (in the store's order) and their events of the history window."""

    borrowers: list[str]
    events: pl.DataFrame


def chunks_of(borrowers: Sequence[str], size: int) -> list[list[str]]:
    """``borrowers`` (sorted in the store's order) cut into consecutive runs of ``size``."""
    if size < 1:
        raise ValueError(f"a chunk holds at least one borrower, not {size}")
    return [list(borrowers[i : i + size]) for i in range(0, len(borrowers), size)]


def read_book(
    engine: Engine,
    borrowers: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    chunk_borrowers: int,
    watch: Stopwatch,
    cache: HistoryCache | None = None,
) -> Iterator[BookChunk]:
    """Every borrower's events in [since, until], read in one pass, handed out chunk by chunk
    of ``chunk_borrowers`` consecutive borrowers (in the order given). With a ``cache``
    (best with ``borrowers`` sorted), each chunk is read from its buckets, after the events
    appended since the cache's last run were added to them — which starts at this call, as
    does the read of the first chunk; each later chunk is read in the background while the
    caller works on the one before (at most two chunks' events held at once)."""
    parts = chunks_of(borrowers, chunk_borrowers)
    if cache is not None and parts:
        return _cached(cache.chunks(parts, since=since, until=until), parts, watch)
    return _scanned(engine, parts, since=since, until=until, watch=watch)


def _cached(
    frames: Iterator[pl.DataFrame], parts: list[list[str]], watch: Stopwatch
) -> Iterator[BookChunk]:
    # The first chunk is asked for at once (the caller reads entitlements meanwhile), and
    # each next one while the caller decides and writes the one before: reading a chunk's
    # files is Polars work that leaves the interpreter free.
    reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="book-read")
    return _read_ahead(reader, reader.submit(next, frames), frames, parts, watch)


def _read_ahead(
    reader: ThreadPoolExecutor,
    ahead: Future[pl.DataFrame],
    frames: Iterator[pl.DataFrame],
    parts: list[list[str]],
    watch: Stopwatch,
) -> Iterator[BookChunk]:
    try:
        for index, part in enumerate(parts):
            with watch.stage("read_history"):
                events = ahead.result()
            if index + 1 < len(parts):
                ahead = reader.submit(next, frames)
            yield BookChunk(part, events)
    finally:
        reader.shutdown(wait=False)


def _scanned(
    engine: Engine, parts: list[list[str]], *, since: datetime, until: datetime, watch: Stopwatch
) -> Iterator[BookChunk]:
    if not parts:
        return
    with watch.stage("read_history"):
        window = ingestion.scan_history(engine, since=since, until=until)
    if len(parts) == 1:
        yield BookChunk(parts[0], window)
        return
    for part in parts:
        with watch.stage("split_history"):
            events = window.filter(pl.col("borrower_id").is_in(part))
        yield BookChunk(part, events)
