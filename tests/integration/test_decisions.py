"""Decisions on a real database: batch and online drivers, lineage, notice periods,
exactly-once effect of redelivered messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from repayguard import entitlements
from repayguard.bootstrap import Container, bootstrap
from repayguard.decisions import DecideBorrowers, decide_borrowers, recent_decisions, triggers
from repayguard.decisions.models import DecisionRow
from repayguard.ingestion import EVENTS_INGESTED, IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import failing_debits_history, healthy_history, policy_text
from support.common import NOW, make_settings

NOTICE_POLICY = policy_text(
    "notice-test",
    """\
inputs:
  failed_debits_30d: {type: number}
hit_policy: first
rows:
  - id: cycling-like
    when: {failed_debits_30d: ">= 3"}
    then: {early_repayment: restricted, auto_debit: disabled}
    reasons: [REPEATED_FAILED_DEBITS]
    notice_days: 3
    max_days: 30
    review_after_days: 14
""",
    version=3,
)


def _decide_all(container: Container) -> int:
    report = decide_borrowers(
        DecideBorrowers(trigger=triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )
    return report.changed


def _decision_count(container: Container) -> int:
    with container.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(DecisionRow)) or 0)


def test_a_batch_rerun_logs_decisions_but_changes_no_entitlement(container: Container) -> None:
    events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    online_decisions = _decision_count(container)

    first = _decide_all(container)
    again = _decide_all(container)

    assert online_decisions == 2, "the online driver decided both borrowers on ingestion"
    assert (first, again) == (0, 0), "batch and online drivers agree: nothing to change"
    assert _decision_count(container) == 6, "every decision is logged, changed or not"


def test_every_decision_carries_its_lineage(container: Container) -> None:
    ingest_events(
        IngestEvents(failing_debits_history("B1", NOW), source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )
    with container.session_factory() as session:
        decision = session.scalars(select(DecisionRow)).one()
    engine = container.decision_engine
    assert decision.as_of == NOW
    assert decision.policy_version == engine.compiled.version
    assert decision.policy_hash == engine.compiled.content_hash
    assert decision.model_version == engine.model.version
    assert decision.rule_id == "failed-debits"
    assert len(decision.input_hash) == 64
    assert '"failed_debits_30d":3' in decision.inputs.replace(" ", "").replace(".0", "")


def test_a_redelivered_ingestion_message_is_not_decided_twice(container: Container) -> None:
    ingest_events(
        IngestEvents(healthy_history("B1", NOW), source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    (message,) = [m for m in bus.published if m.name == EVENTS_INGESTED]
    before = _decision_count(container)

    bus.publish(message)
    bus.publish(message)

    assert _decision_count(container) == before


@pytest.fixture
def notice_container(database_url: str, tmp_path: Path) -> Iterator[Container]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(NOTICE_POLICY)
    settings = make_settings(database_url, tmp_path, policy_path=policy)
    with bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        yield built


def test_a_restriction_waits_for_its_notice_period(notice_container: Container) -> None:
    container = notice_container
    ingest_events(
        IngestEvents(failing_debits_history("B1", NOW), source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )
    with container.session_factory() as session:
        (entitlement,) = entitlements.load(session, ["B1"]).values()

    assert entitlement.states.early_repayment == "restricted"
    assert entitlement.effective_at == NOW + timedelta(days=3)
    assert entitlement.expires_at == NOW + timedelta(days=30)
    assert entitlement.review_at == NOW + timedelta(days=14)
    assert entitlement.states_at(NOW).early_repayment == "allowed"
    assert entitlement.states_at(NOW + timedelta(days=3)).early_repayment == "restricted"
    assert container.view is not None
    assert container.view.get("B1") == entitlement, "the view follows the committed entitlement"


def test_the_latest_of_two_runs_as_of_the_same_time_is_the_one_made_last(
    container: Container,
) -> None:
    ingest_events(
        IngestEvents(healthy_history("B1", NOW), source="test"),
        uow=container.uow(),
        setup=container.ingest,
    )
    runs = [
        decide_borrowers(
            DecideBorrowers(borrower_ids=["B1"], as_of=NOW, trigger=triggers.CLI),
            uow=container.uow(),
            engine=container.decision_engine,
            history_days=container.settings.decisions.history_days,
        ).run_id
        for _ in range(5)
    ]

    with container.session_factory() as session:
        newest_first = [d.run_id for d in recent_decisions(session, "B1", limit=10)]

    assert newest_first[: len(runs)] == runs[::-1]
