"""G3 on a real database: a notice period runs from when the borrower is told, never from a
decision time already past — back-dated and replayed runs, and advance notices written late."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from notice_kit import failed_debits, inbox, ingest, notice_settings, one_pass, open_container
from repayguard import entitlements
from repayguard.bootstrap import Container
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.entitlements import Entitlement
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock
from repayguard.platform.uow import UnitOfWork

from conftest import NOW

NOTICE = timedelta(days=14)
"""The notice period of NOTICE_POLICY's ``some-failed-debits`` row."""
BORROWERS = ("B1", "B2", "B3")


@pytest.fixture
def setup(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, FixedClock]]:
    clock = FixedClock(NOW)
    with open_container(notice_settings(database_url, tmp_path), clock) as container:
        yield container, clock


def _history(days_before_now: int) -> list[dict[str, object]]:
    """Three borrowers whose auto-debits failed three times, ``days_before_now`` days ago."""
    then = NOW - timedelta(days=days_before_now)
    return [event for b in BORROWERS for event in failed_debits(b, then, [5, 4, 3])]


def _pending(container: Container) -> dict[str, Entitlement]:
    with container.session_factory() as session:
        found = entitlements.load(session, list(BORROWERS))
    return {b: e for b, e in found.items() if e.interim is not None}


def _told_too_late(container: Container, pending: dict[str, Entitlement]) -> list[str]:
    """Borrowers whose restriction takes effect before their advance notice plus the period
    (or who were never told in advance)."""
    late: list[str] = []
    for borrower, entitlement in pending.items():
        advance = [n for n in inbox(container, borrower) if n.kind == "advance"]
        if not advance or entitlement.effective_at < advance[-1].created_at + NOTICE:
            late.append(borrower)
    return late


def test_a_back_dated_run_restricts_only_after_a_full_notice_from_now(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    ingest(container, _history(days_before_now=60))  # decided now: the failures are too old

    run = decide_borrowers(
        DecideBorrowers(as_of=NOW - timedelta(days=60), trigger=triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )
    pending = _pending(container)
    kinds = {b: [n.kind for n in inbox(container, b)] for b in BORROWERS}
    before_period = one_pass(container)
    clock.advance(NOTICE)
    after_period = one_pass(container)

    assert run.tightened == len(BORROWERS)
    assert sorted(pending) == list(BORROWERS), "every restriction waits for its notice"
    assert _told_too_late(container, pending) == []
    assert all(e.effective_at == NOW + NOTICE for e in pending.values())
    assert all(
        e.expires_at is not None and e.expires_at > e.effective_at for e in pending.values()
    ), "the expiry counts from when the borrower is told, so it follows the start"
    assert kinds == {b: ["advance"] for b in BORROWERS}, "told in advance, not after the fact"
    assert before_period["entitlements.activate"].counts == {"activated": 0}
    assert after_period["entitlements.activate"].counts == {"activated": len(BORROWERS)}


def test_a_replayed_run_does_not_restart_or_shorten_the_notice(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    ingest(container, _history(days_before_now=60))
    back_dated = DecideBorrowers(as_of=NOW - timedelta(days=60), trigger=triggers.CLI)

    def run() -> None:
        decide_borrowers(
            back_dated,
            uow=container.uow(),
            engine=container.decision_engine,
            history_days=container.settings.decisions.history_days,
        )

    run()
    first = _pending(container)
    clock.advance(timedelta(days=3))
    run()
    again = _pending(container)

    assert {b: e.effective_at for b, e in again.items()} == {
        b: e.effective_at for b, e in first.items()
    }
    assert all(len(inbox(container, b)) == 1 for b in BORROWERS), "announced once"


def test_an_advance_notice_written_late_defers_the_restriction_by_the_delay(
    database_url: str, tmp_path: Path
) -> None:
    clock = FixedClock(NOW)
    settings = notice_settings(database_url, tmp_path)
    with open_container(settings, clock, serve_view=True) as container:

        def held_back() -> UnitOfWork:
            """A unit of work whose messages stay in the outbox until the relay drains."""
            return UnitOfWork(container.session_factory, clock=clock, observers=container.observers)

        ingest_events(
            IngestEvents(failed_debits("L1", NOW, [5, 4, 3]), source="test"),
            uow=held_back(),
            setup=container.ingest,
        )
        decide_borrowers(
            DecideBorrowers(borrower_ids=["L1"], mode="online", trigger=triggers.EVENTS),
            uow=held_back(),
            engine=container.decision_engine,
            history_days=container.settings.decisions.history_days,
        )
        clock.advance(timedelta(hours=30))  # the notices consumer was down for 30 hours
        container.relay.drain()

        with container.session_factory() as session:
            entitlement = entitlements.load(session, ["L1"])["L1"]
        advance = [n for n in inbox(container, "L1") if n.kind == "advance"]
        assert container.view is not None
        in_view = container.view.get("L1")

    assert len(advance) == 1
    assert advance[0].created_at == NOW + timedelta(hours=30)
    assert entitlement.effective_at == advance[0].created_at + NOTICE
    assert advance[0].effective_at == entitlement.effective_at, "the notice states the new date"
    assert in_view is not None
    assert in_view.effective_at == entitlement.effective_at, "authorize sees the new date"
