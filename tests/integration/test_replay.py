"""Deterministic replay on SQLite and PostgreSQL: a store built by several ingest batches, online
and CLI runs and a policy published between them replays identically; a late event a run never
saw does not count against it; a tampered decision is named; an override is taken from the
record, never recomputed into a false divergence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml
from sqlalchemy import select, update

from repayguard import approvals, decisions, policies, resources
from repayguard.bootstrap import Container
from repayguard.cli.replay import known_models
from repayguard.decisions.models import DecisionRow, DecisionRunRow
from repayguard.ingestion import IngestEvents, ingest_events

from support.approvals import context_of, make_team, override
from support.builders import debit_attempt, failing_debits_history, healthy_history, paid
from support.common import NOW

PROFILES = policies.profiles()


def _publish_stricter(container: Container) -> None:
    """Version 2 of the shipped policy (default row: app balance only), through maker-checker."""
    team = make_team(container)
    doc: dict[str, Any] = yaml.safe_load(resources.read_text("policies/cn-default.yaml"))
    doc["rows"][-1]["then"].update(manual_channels=["app_balance"])
    draft = policies.submit_policy(
        policies.SubmitPolicy(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "ann"),
        uow=container.uow(),
        profiles=PROFILES,
    )
    _approved(
        container,
        "policy_publish",
        {"draft_id": draft.draft_id},
        by=team["ann"],
        checker=team["pat"],
    )


def _approved(
    container: Container, kind: str, payload: dict[str, Any], *, by: str, checker: str
) -> None:
    """``kind`` asked for by ``by`` and approved by ``checker``."""
    context = context_of(container)
    asked = approvals.request_approval(
        approvals.RequestApproval(kind, payload, by=by), uow=container.uow(), context=context
    )
    approvals.approve(
        approvals.Approve(asked.request_id, checker, "checked"),
        uow=container.uow(),
        context=context,
    )


def _ingest(container: Container, events: list[dict[str, Any]]) -> None:
    """One batch; the online consumer re-decides its borrowers (inline relay)."""
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)


def _decide_all(container: Container) -> None:
    decisions.decide_borrowers(
        decisions.DecideBorrowers(trigger=decisions.triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )


def _verify(container: Container) -> decisions.ReplayVerdict:
    return decisions.verify_replay(
        decisions.VerifyReplay(history_days=container.settings.decisions.history_days),
        uow=container.uow(),
        engine=container.decision_engine,
        models=known_models(container.decision_engine),
    )


def _build_store(container: Container) -> None:
    """Batches, online and CLI runs, a publication between runs, and a late event that the
    runs before it could not see (it happened before their as-of time)."""
    _ingest(container, failing_debits_history("B1", NOW) + healthy_history("B2", NOW))
    container.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    _decide_all(container)
    _publish_stricter(container)
    container.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    _ingest(container, healthy_history("B3", NOW))
    # Late: a failed debit of B2's from yesterday arrives after B2 was decided as of today.
    _ingest(container, [debit_attempt("B2", NOW - timedelta(days=1), "failed")])
    _decide_all(container)
    _ingest(container, [paid("B1", NOW + timedelta(hours=2))])


def test_a_store_of_batches_and_runs_under_two_policy_versions_replays_identically(
    container: Container,
) -> None:
    _build_store(container)
    with container.session_factory() as session:
        versions = set(session.scalars(select(DecisionRunRow.policy_version)))
        triggers = set(session.scalars(select(DecisionRunRow.trigger)))
    assert versions == {"1", "2"}
    assert len(triggers) >= 2, "online and CLI runs both recorded"

    verdict = _verify(container)

    assert verdict.verdict == "identical", verdict.divergences[:3]
    assert verdict.decisions_stored == verdict.decisions_replayed
    assert verdict.entitlements_stored == verdict.entitlements_replayed
    assert all(run.from_record == 0 and run.divergent == 0 for run in verdict.runs)
    assert sum(run.recomputed for run in verdict.runs) >= 8
    assert verdict.entitlements == 3


def test_a_tampered_decision_is_named_with_its_run_borrower_and_field(
    container: Container,
) -> None:
    _build_store(container)
    with container.session_factory() as session:
        victim = session.scalars(
            select(DecisionRow)
            .where(DecisionRow.borrower_id == "B1")
            .order_by(DecisionRow.decision_id)
        ).first()
        assert victim is not None
        session.execute(
            update(DecisionRow)
            .where(DecisionRow.decision_id == victim.decision_id)
            .values(reasons=["TAMPERED"])
        )
        session.commit()

    verdict = _verify(container)

    assert verdict.verdict == "divergent"
    assert verdict.decisions_stored != verdict.decisions_replayed
    first = verdict.divergences[0]
    assert (first.run_id, first.borrower_id, first.field) == (victim.run_id, "B1", "reasons")
    assert first.stored == ["TAMPERED"]


def test_an_approved_override_is_taken_from_the_record_not_counted_as_divergent(
    container: Container,
) -> None:
    _ingest(container, failing_debits_history("B1", NOW) + healthy_history("B2", NOW))
    team = make_team(container)
    _approved(container, "override", override("B1"), by=team["cara"], checker=team["pat"])
    container.clock.advance(timedelta(hours=1))  # type: ignore[attr-defined]
    _decide_all(container)

    verdict = _verify(container)

    assert verdict.verdict == "identical", verdict.divergences[:3]
    assert verdict.entitlements_from_record == 1, "B1's entitlement was set by a person"
    assert verdict.runs[-1].from_record == 1
