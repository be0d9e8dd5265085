"""A book-wide run read, decided and written chunk by chunk decides exactly what one pass of
the core over the whole book decides, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from repayguard import entitlements, ingestion
from repayguard.bootstrap import Container, bootstrap
from repayguard.core.pipeline import decide, empty_previous
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.decisions.book import chunks_of
from repayguard.decisions.models import DecisionRow, LastDecisionRow
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings

STATES = ["borrower_id", "tier", "rule_id", "auto_debit", "early_repayment", "manual", "reasons"]


@pytest.fixture
def container(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    """A wired repayguard that decides only when asked (no online driver after ingest)."""
    settings = make_settings(database_url, tmp_path, online=False)
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        yield built


def _book(container: Container) -> list[str]:
    events = []
    for index in range(7):
        borrower = f"B{index}"
        history = failing_debits_history if index % 3 == 0 else healthy_history
        events += history(borrower, NOW)
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    with container.session_factory() as session:
        return ingestion.borrower_ids(session)


def test_a_book_decided_in_chunks_matches_one_pass_of_the_core(container: Container) -> None:
    borrowers = _book(container)
    engine = container.decision_engine
    history = container.settings.decisions.history_days
    whole = decide(
        ingestion.scan_history(container.engine, since=NOW - timedelta(days=history), until=NOW),
        as_of=NOW,
        model=engine.model,
        bands=engine.bands,
        policy=engine.compiled,
        previous=empty_previous(),
        borrowers=borrowers,
    )

    report = decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI, as_of=NOW),
        uow=container.uow(),
        engine=engine,
        history_days=history,
        chunk_borrowers=3,  # chunks of 3, 3 and 1: boundaries inside the book
    )

    assert report.borrowers == len(borrowers) == 7
    assert report.changed == 7  # everyone seen for the first time gets an entitlement
    assert int(report.summary["borrowers"].sum()) == 7
    assert {"read_history", "core", "write_decisions", "commit"} <= set(report.seconds)
    with container.session_factory() as session:
        logged = pl.DataFrame(
            [
                (r.borrower_id, r.tier, r.rule_id, r.auto_debit, r.early_repayment, r.manual,
                 list(r.reasons))
                for r in session.scalars(
                    select(DecisionRow).where(DecisionRow.run_id == report.run_id)
                )
            ],
            schema={name: whole.schema[name] for name in STATES},
            orient="row",
        )  # fmt: skip
        latest = session.scalar(select(func.count()).select_from(LastDecisionRow))
        current = entitlements.load(session)
    expected = whole.select(STATES).sort("borrower_id")
    assert logged.sort("borrower_id").equals(expected)
    assert latest == 7
    assert sorted(current) == borrowers
    assert {b: current[b].rule_id for b in borrowers} == dict(
        zip(expected["borrower_id"], expected["rule_id"], strict=True)
    )


def test_a_book_rerun_in_chunks_changes_nothing(container: Container) -> None:
    _book(container)

    def run() -> int:
        return decide_borrowers(
            DecideBorrowers(trigger=triggers.CLI, as_of=NOW),
            uow=container.uow(),
            engine=container.decision_engine,
            history_days=container.settings.decisions.history_days,
            chunk_borrowers=2,
        ).changed

    assert run() == 7
    assert run() == 0


def test_the_book_is_cut_into_consecutive_runs_of_borrowers() -> None:
    assert chunks_of(["a", "b", "c", "d", "e"], 2) == [["a", "b"], ["c", "d"], ["e"]]
    assert chunks_of([], 2) == []
    with pytest.raises(ValueError, match="at least one borrower"):
        chunks_of(["a"], 0)
