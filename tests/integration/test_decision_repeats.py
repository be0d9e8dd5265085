"""A whole-book run logs the decisions that repeat their borrower's latest one as one row per
chunk, and every reader of the log answers as if each had its own row, on SQLite and
PostgreSQL: the run's decisions, a borrower's history, a decision by id, its inputs, the
monitoring window, the cadence's latest decisions, the policy impact's inputs and replay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from repayguard import decisions
from repayguard.bootstrap import Container, bootstrap
from repayguard.cli.replay import known_models
from repayguard.decisions import DecideBorrowers, decide_borrowers, repository, triggers
from repayguard.decisions.models import DecisionRepeatRow, DecisionRow, LastDecisionRow
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import debit_attempt, failing_debits_history, healthy_history
from support.common import NOW, make_settings

CONTENT = (
    "borrower_id", "input_hash", "inputs", "pd", "tier", "model_version", "policy_version",
    "policy_hash", "rule_id", "auto_debit", "early_repayment", "manual", "manual_channels",
    "reasons", "requires_approval", "notice_days", "max_days", "review_after_days", "guardrail",
    "overlay_id",
)  # fmt: skip


@pytest.fixture
def container(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    settings = make_settings(database_url, tmp_path, online=False)
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        yield built


def _ingest(container: Container, events: list[dict[str, Any]]) -> None:
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)


def _run(container: Container, *, repeats_from: int = 1) -> decisions.DecisionRunReport:
    report = decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI, as_of=container.clock.now()),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
        chunk_borrowers=3,
        repeats_from=repeats_from,
    )
    container.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
    return report


def _content(row: DecisionRow) -> tuple[Any, ...]:
    return tuple(getattr(row, name) for name in CONTENT)


def _book(container: Container) -> None:
    events = []
    for index in range(7):
        history = failing_debits_history if index % 3 == 0 else healthy_history
        events += history(f"B{index}", NOW)
    _ingest(container, events)


def test_a_rerun_logs_repeats_per_chunk_and_every_reader_answers_in_full(
    container: Container,
) -> None:
    _book(container)
    first = _run(container)
    second = _run(container)

    assert (first.repeated, second.repeated) == (0, 7)  # a first decision has nothing to repeat
    assert second.changed == 0
    with container.session_factory() as session:
        full = session.scalar(select(func.count()).select_from(DecisionRow))
        batches = session.scalars(select(DecisionRepeatRow)).all()
        before = {r.borrower_id: r for r in repository.decisions_of_run(session, first.run_id)}
        after = repository.decisions_of_run(session, second.run_id)
        assert full == 7  # only the first run's rows
        assert sorted((b.first_borrower, b.last_borrower) for b in batches) == [
            ("B0", "B2"),
            ("B3", "B5"),
            ("B6", "B6"),
        ]
        # The run's decisions, whole: the first run's content under the second's ids.
        assert [r.borrower_id for r in after] == [f"B{i}" for i in range(7)]
        assert all(r.run_id == second.run_id and r.as_of == second.as_of for r in after)
        assert [_content(r) for r in after] == [_content(before[r.borrower_id]) for r in after]
        ids = {r.decision_id for r in after}
        assert len(ids) == 7
        assert not ids & {r.decision_id for r in before.values()}
        # Each reader finds them.
        repeat = after[4]
        got = repository.get(session, repeat.decision_id)
        assert got is not None
        assert _content(got) == _content(repeat)
        assert got.run_id == second.run_id
        assert repository.get(session, repeat.decision_id[:24] + "000000ff") is None
        history = repository.recent(session, "B4", limit=5)
        assert [r.run_id for r in history] == [second.run_id, first.run_id]
        assert repository.recent(session, "B4", limit=1)[0].decision_id == repeat.decision_id
        assert [r.borrower_id for r in repository.of_run(session, second.run_id, ["B1", "B6"])] == [
            "B1",
            "B6",
        ]
        inputs = repository.inputs_of(session, [repeat.decision_id, before["B0"].decision_id])
        assert set(inputs) == {repeat.decision_id, before["B0"].decision_id}
        window = repository.decision_log_between(
            session, since=NOW - timedelta(days=1), until=NOW + timedelta(days=1)
        )
        assert window.height == 14
        assert window.filter(window["as_of"] == second.as_of)["borrower_id"].sort().to_list() == [
            f"B{i}" for i in range(7)
        ]
        assert [run.run_id for run in repository.runs_in_write_order(session)] == [
            first.run_id,
            second.run_id,
        ]
        latest = session.execute(select(LastDecisionRow.run_id, LastDecisionRow.content_id)).all()
        assert {run for run, _ in latest} == {second.run_id}
        assert {content for _, content in latest} == {r.decision_id for r in before.values()}
        assert repository.latest_inputs(session)["borrower_id"].to_list() == [
            f"B{i}" for i in range(7)
        ]

    verdict = decisions.verify_replay(
        decisions.VerifyReplay(history_days=container.settings.decisions.history_days),
        uow=container.uow(),
        engine=container.decision_engine,
        models=known_models(container.decision_engine),
    )
    assert verdict.verdict == "identical", verdict.divergences[:3]
    assert [run.decisions for run in verdict.runs] == [7, 7]


def test_a_changed_decision_is_logged_in_full_between_repeats(container: Container) -> None:
    _book(container)
    first = _run(container)
    second = _run(container)
    _ingest(container, [debit_attempt("B1", container.clock.now(), "failed") for _ in range(3)])
    third = _run(container)
    fourth = _run(container)

    assert (second.repeated, third.repeated, fourth.repeated) == (7, 6, 7)
    with container.session_factory() as session:
        history = repository.recent(session, "B1", limit=10)
        assert [r.run_id for r in history] == [
            fourth.run_id,
            third.run_id,
            second.run_id,
            first.run_id,
        ]
        newest, changed, repeated, original = history
        assert newest.input_hash == changed.input_hash != repeated.input_hash
        assert _content(repeated) == _content(original)
        # The fourth run repeats the third's full row, not the first's.
        assert session.get(DecisionRow, changed.decision_id) is not None
        assert session.get(DecisionRow, newest.decision_id) is None
        shorter = repository.recent(session, "B1", limit=2)
        assert [r.decision_id for r in shorter] == [r.decision_id for r in history[:2]]


def test_below_the_threshold_every_decision_is_logged_in_full(container: Container) -> None:
    _book(container)
    _run(container)
    second = _run(container, repeats_from=8)  # 3 + 3 + 1 repeats a chunk: fewer than 8

    assert second.repeated == 0
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(DecisionRow)) == 14
        assert session.scalar(select(func.count()).select_from(DecisionRepeatRow)) == 0
        digests = session.scalars(select(LastDecisionRow.digest)).all()
        assert len(digests) == 7
        assert None not in digests
