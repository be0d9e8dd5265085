"""G3 on a real database: a notice period runs from when the borrower is told, never from a
decision time already past — back-dated and replayed runs, advance notices written late, and
the wall clock jumping back and forward (an NTP step, a host restored from a snapshot)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from repayguard import entitlements
from repayguard.bootstrap import Container
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.entitlements import Entitlement
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock
from repayguard.platform.uow import UnitOfWork

from support.common import NOW
from support.notices import (
    decide,
    failed_debits,
    inbox,
    ingest,
    notice_settings,
    one_pass,
    open_container,
)

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


def _restrict(container: Container) -> None:
    """Ingest three failed debits per borrower (decided online at once, at the clock's time):
    8-10 days before NOW, so three in 30 days whether the clock reads a few days earlier or
    the whole notice period later."""
    ingest(container, [e for b in BORROWERS for e in failed_debits(b, NOW, [10, 9, 8])])


def _entitlements(container: Container) -> dict[str, Entitlement]:
    with container.session_factory() as session:
        return entitlements.load(session, list(BORROWERS))


def _activated(container: Container) -> int:
    return int(one_pass(container)["entitlements.activate"].counts.get("activated", 0))


def _advance_notices(container: Container) -> dict[str, list[object]]:
    return {
        b: [n.created_at for n in inbox(container, b) if n.kind == "advance"] for b in BORROWERS
    }


def test_a_clock_jumping_back_then_forward_never_activates_a_restriction_early(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    _restrict(container)
    told = _entitlements(container)

    clock.advance(-timedelta(days=3))  # the clock steps back three days
    decide(container, *BORROWERS)
    after_back = _entitlements(container)
    while_back = _activated(container)
    clock.advance(timedelta(days=3) + NOTICE - timedelta(minutes=1))  # and leaps forward
    decide(container, *BORROWERS)
    just_before = _activated(container)
    clock.advance(timedelta(minutes=1))
    at_the_end = _activated(container)

    assert all(e.interim is not None for e in told.values()), "every restriction waits"
    assert {b: e.effective_at for b, e in told.items()} == dict.fromkeys(BORROWERS, NOW + NOTICE)
    assert {b: e.effective_at for b, e in after_back.items()} == {
        b: e.effective_at for b, e in told.items()
    }, "re-deciding at an earlier time neither restarts nor moves the period"
    assert (while_back, just_before, at_the_end) == (0, 0, len(BORROWERS))
    assert _advance_notices(container) == {b: [NOW] for b in BORROWERS}, "told once, at NOW"


def test_a_clock_that_ran_ahead_and_was_corrected_keeps_the_longer_period(
    setup: tuple[Container, FixedClock],
) -> None:
    container, clock = setup
    clock.advance(timedelta(days=1))  # the host's clock ran a day ahead when it decided
    _restrict(container)
    clock.advance(-timedelta(days=1))  # corrected
    decide(container, *BORROWERS)
    kept = _entitlements(container)
    clock.advance(NOTICE)  # a full period after the corrected NOW: not yet
    early = _activated(container)
    clock.advance(timedelta(days=1))
    due = _activated(container)

    assert {b: e.effective_at for b, e in kept.items()} == dict.fromkeys(
        BORROWERS, NOW + timedelta(days=1) + NOTICE
    ), "the correction does not shorten the period the borrower was told"
    assert (early, due) == (0, len(BORROWERS))
    assert _advance_notices(container) == {b: [NOW + timedelta(days=1)] for b in BORROWERS}
