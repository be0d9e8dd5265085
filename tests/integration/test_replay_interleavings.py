"""Property: any interleaving of ingestion batches (late events among them) and decision runs
that the system accepted replays to the same decision log and entitlements."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard import decisions
from repayguard.bootstrap import Container, bootstrap
from repayguard.cli.replay import known_models
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import debit_attempt, failing_debits_history, healthy_history, paid
from support.common import NOW, make_settings

BORROWERS = ("B1", "B2", "B3")


def _history(kind: str, borrower: str, at: Any) -> list[dict[str, Any]]:
    """A batch's events for one borrower: a whole history, or one event up to 40 days late."""
    if kind == "failing":
        return failing_debits_history(borrower, at)
    if kind == "healthy":
        return healthy_history(borrower, at)
    if kind == "late_failure":
        return [debit_attempt(borrower, at - timedelta(days=3), "failed")]
    return [paid(borrower, at - timedelta(days=1))]


_batch = st.tuples(
    st.just("ingest"),
    st.lists(
        st.tuples(
            st.sampled_from(BORROWERS),
            st.sampled_from(("failing", "healthy", "late_failure", "payment")),
        ),
        min_size=1,
        max_size=3,
    ),
)
_run = st.tuples(st.just("decide"), st.lists(st.sampled_from(BORROWERS), max_size=2, unique=True))
_steps = st.lists(
    st.tuples(st.one_of(_batch, _run), st.integers(min_value=0, max_value=48)),
    min_size=2,
    max_size=6,
)


@pytest.fixture(scope="module")
def migrated() -> Iterator[Path]:
    """A migrated, empty SQLite store to copy per example (migrating each would dominate)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "template.db"
        settings = make_settings(f"sqlite:///{path}", Path(folder))
        with bootstrap(settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True):
            pass
        yield path


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=_steps)
def test_any_accepted_interleaving_of_batches_and_runs_replays_identically(
    migrated: Path, steps: list[tuple[tuple[str, Any], int]]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "repayguard.db"
        shutil.copy(migrated, path)
        clock = FixedClock(NOW)
        settings_ = make_settings(f"sqlite:///{path}", Path(folder))
        with bootstrap(settings_, clock=clock, bus=RecordingBus()) as container:
            for (action, arg), hours in steps:
                clock.advance(timedelta(hours=hours))
                _step(container, clock, action, arg)
            verdict = decisions.verify_replay(
                decisions.VerifyReplay(history_days=container.settings.decisions.history_days),
                uow=container.uow(),
                engine=container.decision_engine,
                models=known_models(container.decision_engine),
            )
    assert verdict.verdict == "identical", verdict.divergences[:3]
    assert verdict.decisions_stored == verdict.decisions_replayed
    assert verdict.entitlements_stored == verdict.entitlements_replayed


def _step(container: Container, clock: FixedClock, action: str, arg: Any) -> None:
    if action == "ingest":
        events = [e for borrower, kind in arg for e in _history(kind, borrower, clock.now())]
        ingest_events(
            IngestEvents(events, source="property"), uow=container.uow(), setup=container.ingest
        )
        return
    decisions.decide_borrowers(
        decisions.DecideBorrowers(trigger=decisions.triggers.CLI, borrower_ids=arg or None),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )
