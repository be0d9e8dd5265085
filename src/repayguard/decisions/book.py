"""The whole book in chunks of borrowers: history read ahead by borrower range, and the clock
of a run's stages.

A book-wide run reads history chunk by chunk — consecutive borrowers in the store's own order,
one indexed range of ``(borrower_id, occurred_at)`` each — so memory holds one or two chunks
instead of every event of the window (35M events at 1M borrowers would not fit in 4 GB as one
frame). The read of chunk n+1 runs in a helper thread (on SQLite, its ADBC child process does
the work) while chunk n is decided and written, so on two cores reading overlaps the core.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
from sqlalchemy import Engine

from repayguard import ingestion


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
) -> Iterator[BookChunk]:
    """Every borrower's events in [since, until], chunk by chunk, each chunk's read started
    while the previous chunk is being used (one read ahead, so at most two chunks in memory).

    ``borrowers`` must be sorted as the store sorts them (``ingestion.borrower_ids``): a chunk
    is then exactly the store's range between its first and last borrower.
    """
    parts = chunks_of(borrowers, chunk_borrowers)
    if not parts:
        return

    def read(part: list[str]) -> Callable[[], pl.DataFrame]:
        return lambda: ingestion.history_of_range(
            engine, since=since, until=until, first=part[0], last=part[-1]
        )

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="repayguard-book") as pool:
        pending: Future[pl.DataFrame] = pool.submit(read(parts[0]))
        for index, part in enumerate(parts):
            with watch.stage("read_history"):
                events = pending.result()
            if index + 1 < len(parts):
                pending = pool.submit(read(parts[index + 1]))
            yield BookChunk(part, events)
