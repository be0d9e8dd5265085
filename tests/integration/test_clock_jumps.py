"""The wall clock jumping back and forward (an NTP step, a host restored from a snapshot) under
restrictions in their notice period: none takes effect before the full period after the
borrower was first told, and re-deciding at a jumped time never shortens or restarts it (G3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from notice_kit import (
    decide,
    failed_debits,
    inbox,
    ingest,
    notice_settings,
    one_pass,
    open_container,
)
from repayguard import entitlements
from repayguard.bootstrap import Container
from repayguard.entitlements import Entitlement
from repayguard.platform.clock import FixedClock

from conftest import NOW

NOTICE = timedelta(days=14)
"""The notice period of NOTICE_POLICY's ``some-failed-debits`` row."""
BORROWERS = ("J1", "J2", "J3")


@pytest.fixture
def setup(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, FixedClock]]:
    clock = FixedClock(NOW)
    with open_container(notice_settings(database_url, tmp_path), clock) as container:
        yield container, clock


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
