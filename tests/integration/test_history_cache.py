"""The columnar history cache hands a whole-book run exactly the events a direct read of the
store gives — when built, when extended by events ingested since, and when the store changed
under it — and the run decides the same with it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select, text

from repayguard import ingestion
from repayguard.bootstrap import Container, bootstrap
from repayguard.core.pipeline import decide, empty_previous
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.decisions.book import Stopwatch, read_book
from repayguard.decisions.history_cache import HistoryCache
from repayguard.decisions.models import DecisionRow
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings

DAYS = 200
SINCE = NOW - timedelta(days=DAYS)


@pytest.fixture
def container(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    settings = make_settings(database_url, tmp_path, online=False)
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        yield built


def _ingest(container: Container, borrowers: range) -> list[str]:
    events = []
    for index in borrowers:
        history = failing_debits_history if index % 3 == 0 else healthy_history
        events += history(f"B{index:02d}", NOW)
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    with container.session_factory() as session:
        return ingestion.borrower_ids(session)


def _chunks(container: Container, cache: HistoryCache | None, size: int = 3) -> list[pl.DataFrame]:
    with container.session_factory() as session:
        borrowers = ingestion.borrower_ids(session)
    book = read_book(
        container.engine, borrowers, since=SINCE, until=NOW, chunk_borrowers=size,
        watch=Stopwatch(), cache=cache,
    )  # fmt: skip
    return [chunk.events for chunk in book]


def _same(cached: list[pl.DataFrame], direct: list[pl.DataFrame]) -> bool:
    # PostgreSQL returns a scan in no promised order; the cache returns append order.
    return len(cached) == len(direct) and all(
        a.sort("event_id").equals(b.sort("event_id")) for a, b in zip(cached, direct, strict=True)
    )


def _manifest(cache: HistoryCache) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((cache.folder / "manifest.json").read_text())
    return loaded


def test_the_cache_gives_the_direct_reads_events_built_and_extended(
    container: Container, tmp_path: Path
) -> None:
    _ingest(container, range(7))
    cache = HistoryCache(tmp_path / "cache", container.engine)

    assert _same(_chunks(container, cache), _chunks(container, None))
    built = _manifest(cache)
    # A second ingest: new borrowers, and new events of borrowers the cache holds.
    _ingest(container, range(5, 11))
    assert _same(_chunks(container, cache), _chunks(container, None))
    extended = _manifest(cache)

    assert extended["seq"] > built["seq"]  # type: ignore[operator]
    assert extended["bounds"] == built["bounds"]  # extended, not rebuilt
    assert any(len(files) == 2 for files in extended["files"])  # type: ignore[attr-defined]
    if container.engine.dialect.name == "sqlite":  # append order is the store's scan order
        assert all(
            a.equals(b)
            for a, b in zip(_chunks(container, cache), _chunks(container, None), strict=True)
        )


@pytest.mark.parametrize(
    "change",
    [
        # The store no longer holds an event the cache holds (what a late commit below the
        # cache's sequence number looks like from the other side: a count that moved).
        "DELETE FROM events WHERE seq = (SELECT min(seq) FROM events)",
        # As many events as before, another one at the cache's sequence number: what a store
        # recreated under the same address can look like.
        "UPDATE events SET event_id = 'other' WHERE seq = (SELECT max(seq) FROM events)",
    ],
    ids=["an-event-below-its-seq-gone", "another-event-at-its-seq"],
)
def test_the_cache_is_rebuilt_when_the_store_changed_under_it(
    container: Container, tmp_path: Path, change: str
) -> None:
    _ingest(container, range(7))
    cache = HistoryCache(tmp_path / "cache", container.engine)
    _chunks(container, cache)
    with container.engine.begin() as connection:
        connection.execute(text(change))

    assert _same(_chunks(container, cache), _chunks(container, None))


def test_a_window_starting_before_the_cache_rebuilds_it(
    container: Container, tmp_path: Path
) -> None:
    _ingest(container, range(7))
    cache = HistoryCache(tmp_path / "cache", container.engine)
    late = read_book(
        container.engine, ingestion.borrower_ids(container.session_factory()),
        since=NOW - timedelta(days=20), until=NOW, chunk_borrowers=3, watch=Stopwatch(),
        cache=cache,
    )  # fmt: skip
    list(late)

    assert _same(_chunks(container, cache), _chunks(container, None))
    assert _manifest(cache)["start"] == SINCE.isoformat()


def test_many_small_runs_are_compacted_into_one_file_a_bucket(
    container: Container, tmp_path: Path
) -> None:
    cache = HistoryCache(tmp_path / "cache", container.engine)
    _ingest(container, range(1))
    _chunks(container, cache, size=50)
    for index in range(1, 10):  # one bucket (one chunk of 50) gets a file a run
        _ingest(container, range(index, index + 1))
        _chunks(container, cache, size=50)

    assert _same(_chunks(container, cache, size=50), _chunks(container, None, size=50))
    assert max(len(files) for files in _manifest(cache)["files"]) <= 8  # type: ignore[attr-defined]
    assert len(list(cache.folder.glob("*.arrow"))) == sum(
        len(files)
        for files in _manifest(cache)["files"]  # type: ignore[attr-defined]
    )


def test_a_book_decided_from_the_cache_decides_as_the_core_over_the_store(
    container: Container, tmp_path: Path
) -> None:
    borrowers = _ingest(container, range(7))
    engine = container.decision_engine
    first = decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI, as_of=NOW), uow=container.uow(), engine=engine,
        history_days=DAYS, chunk_borrowers=3, history_cache=tmp_path / "cache",
    )  # fmt: skip
    borrowers = _ingest(container, range(5, 9))
    second = decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI, as_of=NOW), uow=container.uow(), engine=engine,
        history_days=DAYS, chunk_borrowers=3, history_cache=tmp_path / "cache",
    )  # fmt: skip

    whole = decide(
        ingestion.scan_history(container.engine, since=SINCE, until=NOW),
        as_of=NOW, model=engine.model, bands=engine.bands, policy=engine.compiled,
        previous=empty_previous(), borrowers=borrowers,
    )  # fmt: skip
    with container.session_factory() as session:
        logged = {
            (r.borrower_id, r.rule_id, r.auto_debit, r.early_repayment, r.manual)
            for r in session.scalars(select(DecisionRow).where(DecisionRow.run_id == second.run_id))
        }
    assert first.borrowers == 7
    assert second.borrowers == 9
    assert logged == set(
        whole.select("borrower_id", "rule_id", "auto_debit", "early_repayment", "manual").rows()
    )
