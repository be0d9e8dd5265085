"""A columnar copy of the event history, bucketed by borrower range and keyed by the event sequence.

A whole-book run reads every borrower's history window; most of it was read by the previous
run already. The cache keeps the events that occurred at or after its ``start`` as Arrow IPC
files, one bucket per range of consecutive borrowers (a run's chunk reads only its buckets),
and remembers the last append sequence number it holds (``seq``), how many events the store
held up to it (``count``) and the id of the event at ``seq`` (``last``). A later run reads
only the events appended after ``seq`` and adds them as one more file per bucket.

It is rebuilt from the store whenever it could be wrong: no or unreadable manifest, another
format or event layout, another store, a window starting before ``start``, a store whose
highest sequence number went backwards, a different number of events up to ``seq`` (an
event committed late below ``seq`` by a concurrent writer, or one removed), or another event
at ``seq`` (a store recreated under the same address). The count is read before the events
it guards, so a late event is counted by the next run, never missed.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import uuid
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

import polars as pl
from sqlalchemy import Engine

from repayguard.ingestion import (
    SEQUENCED_SCHEMA,
    count_through,
    scan_sequenced,
    sequence_state,
)

FORMAT: Final = 1
"""Bumped whenever the files' meaning changes; a cache of another format is rebuilt."""
MAX_SEGMENTS: Final = 8
"""Files a bucket may collect from later runs before every bucket is rewritten as one."""
_LAYOUT: Final = str(SEQUENCED_SCHEMA)


@dataclass(slots=True)
class Manifest:
    """What the cache's files hold: events from ``start`` up to sequence number ``seq`` of
    the store ``store``; bucket i covers borrowers from ``bounds[i-1]`` (inclusive) to
    ``bounds[i]`` (exclusive), open at both ends, its events in the files ``files[i]``."""

    format: int
    layout: str
    store: str
    start: str
    seq: int
    count: int
    last: str | None
    """The id of the event at ``seq`` when the cache was made."""
    bounds: list[str]
    files: list[list[str]]


class HistoryCache:
    """The cache of one store under ``folder`` (``<data_dir>/history-cache``)."""

    def __init__(self, folder: Path, engine: Engine) -> None:
        url = engine.url.render_as_string(hide_password=True)
        self.store = hashlib.sha256(url.encode()).hexdigest()[:16]
        self.folder = folder / self.store
        self.engine = engine

    def chunks(
        self, parts: Sequence[Sequence[str]], *, since: datetime, until: datetime
    ) -> Iterator[pl.DataFrame]:
        """For each part (borrowers, best consecutive in sorted order), its borrowers' events
        in [since, until] as an EVENT_SCHEMA frame in append order — what the store's own
        scan holds for them. The cache is brought up to date first, in a background thread
        from this call on (it waits on the store's reads, not the interpreter), so the
        caller's own reads overlap it until the first chunk is asked for."""
        bucket = max((len(p) for p in parts), default=1)
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-cache")
        pending = pool.submit(self._refreshed, since, bucket)
        pool.shutdown(wait=False)
        return self._read_all(pending, parts, since=since, until=until)

    def _read_all(
        self, pending: Future[Manifest], parts: Sequence[Sequence[str]], *, since: datetime,
        until: datetime,
    ) -> Iterator[pl.DataFrame]:  # fmt: skip
        manifest = pending.result()
        for part in parts:
            yield self._read(manifest, part, since=since, until=until)

    def _refreshed(self, since: datetime, bucket: int) -> Manifest:
        with self._locked():
            return self._refresh(since, bucket=bucket)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        # Two runs refreshing at once would each append the same new events.
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / "lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _refresh(self, since: datetime, *, bucket: int) -> Manifest:
        high, count, last = sequence_state(self.engine)
        manifest = self._load()
        if manifest is None or not self._still_true(manifest, since=since, high=high):
            return self._rebuild(since, high=high, count=count, last=last, bucket=bucket)
        fresh = scan_sequenced(
            self.engine,
            after=manifest.seq,
            through=high,
            since=datetime.fromisoformat(manifest.start),
        )
        if fresh.height:
            for index, frame in _bucketed(fresh, manifest.bounds):
                manifest.files[index].append(self._write(frame))
        manifest.seq, manifest.count, manifest.last = high, count, last
        if max(len(files) for files in manifest.files) > MAX_SEGMENTS:
            return self._compact(manifest, since)
        self._save(manifest)
        return manifest

    def _still_true(self, manifest: Manifest, *, since: datetime, high: int) -> bool:
        return (
            manifest.format == FORMAT
            and manifest.layout == _LAYOUT
            and manifest.store == self.store
            and datetime.fromisoformat(manifest.start) <= since
            and high >= manifest.seq
            and count_through(self.engine, manifest.seq) == (manifest.count, manifest.last)
        )

    def _rebuild(
        self, since: datetime, *, high: int, count: int, last: str | None, bucket: int
    ) -> Manifest:
        events = scan_sequenced(self.engine, after=0, through=high, since=since)
        borrowers = events["borrower_id"].unique().sort().to_list()
        bounds = borrowers[bucket::bucket]
        empty: list[list[str]] = [[] for _ in range(len(bounds) + 1)]
        manifest = Manifest(
            FORMAT, _LAYOUT, self.store, since.isoformat(), high, count, last, bounds, empty
        )
        self._replace_files(manifest, _bucketed(events, bounds))
        return manifest

    def _compact(self, manifest: Manifest, since: datetime) -> Manifest:
        """Every bucket rewritten as one file, without the events that occurred before
        ``since`` (no later run reads them: a run starting earlier rebuilds)."""
        start = max(datetime.fromisoformat(manifest.start), since)
        segments = list(manifest.files)
        merged = (
            (index, self._bucket(files).filter(pl.col("occurred_at") >= start))
            for index, files in enumerate(segments)
        )
        manifest.start = start.isoformat()
        self._replace_files(manifest, ((i, frame) for i, frame in merged if frame.height))
        return manifest

    def _replace_files(
        self, manifest: Manifest, buckets: Iterator[tuple[int, pl.DataFrame]]
    ) -> None:
        """Write the buckets (each as one new file) into ``manifest``, every other bucket
        emptied, then save it and drop every file it no longer names."""
        written: list[list[str]] = [[] for _ in manifest.files]
        for index, frame in buckets:
            written[index] = [self._write(frame)]
        manifest.files = written
        self._save(manifest)
        keep = {name for files in manifest.files for name in files}
        for path in self.folder.glob("*.arrow"):
            if path.name not in keep:
                path.unlink(missing_ok=True)

    def _read(
        self, manifest: Manifest, part: Sequence[str], *, since: datetime, until: datetime
    ) -> pl.DataFrame:
        if not part:
            return pl.DataFrame(schema=SEQUENCED_SCHEMA).drop("seq")
        # min/max, not the ends: the store's collation may order borrowers otherwise.
        first = bisect_right(manifest.bounds, min(part))
        last = bisect_right(manifest.bounds, max(part))
        files = [name for files in manifest.files[first : last + 1] for name in files]
        return (
            self._bucket(files)
            .filter(
                pl.col("borrower_id").is_in(list(part)),
                pl.col("occurred_at") >= since,
                pl.col("occurred_at") <= until,
            )
            .sort("seq")
            .drop("seq")
        )

    def _bucket(self, files: Sequence[str]) -> pl.DataFrame:
        if not files:
            return pl.DataFrame(schema=SEQUENCED_SCHEMA)
        return pl.concat([pl.read_ipc(self.folder / name) for name in files])

    def _write(self, frame: pl.DataFrame) -> str:
        name = f"{uuid.uuid4().hex}.arrow"
        frame.write_ipc(self.folder / name, compression="lz4")
        return name

    def _load(self) -> Manifest | None:
        try:
            return Manifest(**json.loads((self.folder / "manifest.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None  # absent or unreadable: rebuilt

    def _save(self, manifest: Manifest) -> None:
        # Written aside and renamed: a crash leaves the old manifest or the new, never half.
        staged = self.folder / f"manifest.{uuid.uuid4().hex}.tmp"
        staged.write_text(json.dumps(asdict(manifest)))
        staged.replace(self.folder / "manifest.json")


def _bucketed(events: pl.DataFrame, bounds: list[str]) -> Iterator[tuple[int, pl.DataFrame]]:
    """``events`` split by borrower range (bucket index, its rows), empty buckets left out."""
    edges = pl.Series(bounds, dtype=pl.String)
    index = edges.search_sorted(events["borrower_id"], side="right").alias("bucket")
    for (bucket,), frame in (
        events.with_columns(index).partition_by("bucket", as_dict=True, maintain_order=True).items()
    ):
        yield int(bucket), frame.drop("bucket")
