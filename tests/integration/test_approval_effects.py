"""What approving applies, on SQLite and PostgreSQL: a model promotion with its card pinned, a
manual override with an expiry, a decision held for approval, an emergency action's review."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from sqlalchemy import update

from repayguard import approvals, decisions, entitlements, risk
from repayguard.approvals.errors import (
    ApprovalCheckerNotAllowed,
    ApprovalNotPending,
    ApprovalPayloadInvalid,
    MakerCannotApprove,
)
from repayguard.approvals.models import ApprovalRequestRow
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers.errors import BorrowerNotFound
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.errors import ApprovalPayloadChanged, InvalidInput
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork
from repayguard.risk.errors import ModelPromotionRefused
from repayguard.risk.models import ModelVersionRow

from support.approvals import APPROVAL_POLICY, context_of, make_team, override
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings


def ask(
    container: Container, who: str, kind: str, payload: dict[str, object]
) -> approvals.ApprovalRead:
    return approvals.request_approval(
        approvals.RequestApproval(kind, payload, by=who),
        uow=container.uow(),
        context=context_of(container),
    )


def approve(container: Container, who: str, request_id: str) -> approvals.ApprovalRead:
    return approvals.approve(
        approvals.Approve(request_id, who, "looks right"),
        uow=container.uow(),
        context=context_of(container),
    )


def entitlement(container: Container, borrower: str) -> entitlements.Entitlement | None:
    with container.session_factory() as session:
        return entitlements.load(session, [borrower]).get(borrower)


def decide(container: Container, *borrowers: str) -> int:
    report = decide_borrowers(
        DecideBorrowers(borrower_ids=list(borrowers) or None, trigger=triggers.CLI),
        uow=container.uow(),
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )
    return report.held


def _feature_table(path: Path) -> Path:
    """A table whose columns are repayguard features, so a model trained on it can decide."""
    rng = np.random.default_rng(5)
    failed = rng.poisson(0.6, 1200)
    dpd = rng.choice([0, 0, 0, 5, 40], 1200)
    bad = rng.random(1200) < 1 / (1 + np.exp(-(-2.5 + 0.8 * failed + 0.05 * dpd)))
    pl.DataFrame(
        {"failed_debits_30d": failed, "dpd_now": dpd, "outcome": np.where(bad, "bad", "good")}
    ).write_csv(path)
    return path


def test_a_model_reaches_production_only_by_approval_with_its_card_pinned(
    container: Container, tmp_path: Path
) -> None:
    team = make_team(container)
    registry = context_of(container).registry
    data = risk.TabularFile(_feature_table(tmp_path / "loans.csv"), "outcome", "bad", ())
    for _ in range(2):
        risk.train_model(risk.TrainModel(data, cv=0, trained_by="ann"), uow=container.uow,
                         registry=registry)  # fmt: skip
    asked = ask(container, team["ann"], "model_promote", {"version": "scorecard-v1", "note": "Q2"})
    assert {m.state for m in risk.list_models(uow=container.uow())} == {"candidate"}

    done = approve(container, team["pat"], asked.request_id)

    assert done.outcome == {"version": "scorecard-v1", "state": "production"}
    (promoted,) = risk.list_models("production", uow=container.uow())
    assert promoted.promoted_by == "ann, approved by pat"
    assert container.decision_engine.model.version == "scorecard-v1", "decisions follow it"
    second = ask(container, team["alan"], "model_promote", {"version": "scorecard-v2"})
    with container.engine.begin() as connection:  # the registered card changes afterwards
        connection.execute(
            update(ModelVersionRow)
            .where(ModelVersionRow.version == "scorecard-v2")
            .values(card_sha256="0" * 64)
        )
    with pytest.raises(ApprovalPayloadChanged, match="card"):
        approve(container, team["pat"], second.request_id)
    assert [m.version for m in risk.list_models("production", uow=container.uow())] == [
        "scorecard-v1"
    ]
    with pytest.raises(ModelPromotionRefused, match="already in production"):
        ask(container, team["alan"], "model_promote", {"version": "scorecard-v1"})


def test_an_override_applies_after_approval_and_decisions_leave_it_until_it_expires(
    container: Container, clock: FixedClock
) -> None:
    team = make_team(container)
    ingest_events(
        IngestEvents(failing_debits_history("B1", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )
    decided = entitlement(container, "B1")
    assert decided is not None
    assert decided.states.auto_debit == "disabled"
    with pytest.raises(ApprovalPayloadInvalid, match="G1"):
        ask(container, team["cara"], "override", override("B1", manual_channels=["bank_transfer"]))
    with pytest.raises(ApprovalPayloadInvalid, match="catalogue"):
        ask(container, team["cara"], "override", override("B1", reasons=["BECAUSE"]))
    with pytest.raises(BorrowerNotFound):
        ask(container, team["cara"], "override", override("NOBODY"))
    asked = ask(container, team["cara"], "override", override("B1", note="customer called"))
    with pytest.raises(ApprovalCheckerNotAllowed):
        approve(container, team["carl"], asked.request_id)

    approve(container, team["pat"], asked.request_id)

    now = entitlement(container, "B1")
    assert now is not None
    assert (now.rule_id, now.decision_id, now.states.auto_debit) == (
        entitlements.OVERRIDE_RULE,
        asked.request_id,
        "optional",
    )
    assert now.expires_at == NOW + timedelta(days=10)
    assert container.view is not None
    assert container.view.get("B1") == now, "authorize serves the override at once"
    decide(container, "B1")
    assert entitlement(container, "B1") == now, "decisions leave an override in force alone"
    clock.advance(timedelta(days=11))
    assert decide(container, "B1") == 1, "31 days overdue now: severe-delinquency, held"
    (held,) = approvals.list_requests(
        approvals.QueueFilter(kind="decision"), uow=container.uow()
    ).items
    assert (held.subject, held.category) == ("B1", "severe-delinquency")
    assert held.payload["base_decision_id"] == asked.request_id, "proposed against the override"


@pytest.fixture
def held(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(APPROVAL_POLICY)
    settings = make_settings(database_url, tmp_path, policy_path=policy)
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        yield built


def _pending_decisions(container: Container) -> list[approvals.ApprovalRead]:
    where = approvals.QueueFilter(kind="decision")
    return approvals.list_requests(where, uow=container.uow()).items


def test_a_decision_requiring_approval_waits_and_applies_exactly_when_approved(
    held: Container, clock: FixedClock
) -> None:
    container = held
    team = make_team(container)
    events = healthy_history("B1", NOW) + healthy_history("B2", NOW)
    ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)
    before = entitlement(container, "B1")
    assert before is not None
    ingest_events(IngestEvents(failing_debits_history("B1", NOW)[-4:], source="t"),
                  uow=container.uow(), setup=container.ingest)  # fmt: skip

    (request,) = _pending_decisions(container)
    assert (request.subject, request.category, request.maker_id) == ("B1", "needs-approval", None)
    assert entitlement(container, "B1") == before, "the tightening waits for approval"
    assert request.payload["base_decision_id"] == before.decision_id
    assert decide(container) == 1, "the next run holds it again ..."
    assert [r.request_id for r in _pending_decisions(container)] == [request.request_id], (
        "... and keeps the one pending request"
    )
    with pytest.raises(InvalidInput):
        approvals.bulk_approve(approvals.BulkApprove(team["pat"], "ok", category="needs-approval",
                                                     limit=0), uow=container.uow,
                               context=context_of(container))  # fmt: skip
    clock.advance(timedelta(hours=1))

    outcome = approvals.bulk_approve(
        approvals.BulkApprove(team["pat"], "routine", category="needs-approval"),
        uow=container.uow,
        context=context_of(container),
    )

    assert ([a.request_id for a in outcome.approved], outcome.refused) == ([request.request_id], [])
    after = entitlement(container, "B1")
    assert after is not None
    assert after.decision_id == request.payload["decision_id"]
    assert after.states.as_dict() == request.payload["states"]
    assert after.effective_at == clock.now() + timedelta(days=3), "notice counts from approval"
    assert after.states_at(clock.now()).early_repayment == "allowed"
    assert decide(container) == 0, "once applied, nothing is held any more"
    assert _pending_decisions(container) == []


def _held_for_b1(container: Container, clock: FixedClock) -> approvals.ApprovalRead:
    """B1 decided healthy, then three failed debits: a tightening held for approval."""
    ingest_events(
        IngestEvents(healthy_history("B1", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )
    tail = failing_debits_history("B1", NOW)[-4:]
    ingest_events(IngestEvents(tail, source="t"), uow=container.uow(), setup=container.ingest)
    (request,) = _pending_decisions(container)
    clock.advance(timedelta(hours=2))
    assert decide(container, "B2") == 0
    assert _pending_decisions(container) == [request], "a run that did not decide B1 leaves it"
    clock.advance(timedelta(days=11))  # the first failed debit leaves the 30-day window
    return request


def _withdrawn_decisions(container: Container) -> list[approvals.ApprovalRead]:
    where = approvals.QueueFilter(state="withdrawn", kind="decision")
    return approvals.list_requests(where, uow=container.uow()).items


def test_a_held_decision_that_a_later_run_no_longer_proposes_is_withdrawn(
    held: Container, clock: FixedClock
) -> None:
    container = held
    request = _held_for_b1(container, clock)

    assert decide(container, "B1") == 0

    assert _pending_decisions(container) == []
    (gone,) = _withdrawn_decisions(container)
    assert gone.request_id == request.request_id
    assert gone.comment is not None
    assert gone.comment.startswith("superseded: the borrower's methods are now set by decision")


def test_a_run_that_proposes_another_outcome_withdraws_the_held_one_by_itself(
    held: Container, clock: FixedClock
) -> None:
    """The run's own message suffices: here it is handled before (without) the change's."""
    container = held
    request = _held_for_b1(container, clock)
    quiet = UnitOfWork(container.session_factory, clock=container.clock)  # messages stay queued
    report = decide_borrowers(
        DecideBorrowers(borrower_ids=["B1"], trigger=triggers.CLI),
        uow=quiet,
        engine=container.decision_engine,
        history_days=container.settings.decisions.history_days,
    )
    handler = approvals.SupersededHeldDecisions()
    run = Message(_run_completed(report.run_id))

    handler.on_run(run, container.uow())

    (gone,) = _withdrawn_decisions(container)
    assert gone.request_id == request.request_id
    assert gone.comment is not None
    assert gone.comment.endswith("no longer proposes this change")
    handler.on_run(Message(_run_completed(report.run_id)), container.uow())
    assert len(_withdrawn_decisions(container)) == 1, "nothing pending any more"


def _run_completed(run_id: str) -> decisions.RunCompleted:
    """The run's message as far as the handler reads it (its run id; the run is stored)."""
    return decisions.RunCompleted(
        run_id=run_id,
        mode="batch",
        trigger=triggers.CLI,
        as_of=NOW,
        borrowers=1,
        changed=0,
        held=1,
        lineage={},
    )


def test_a_rejected_decision_is_not_proposed_again_and_a_stale_one_is_not_applied(
    held: Container,
) -> None:
    container = held
    team = make_team(container)
    events = healthy_history("B1", NOW) + healthy_history("B2", NOW)
    ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)
    tail = failing_debits_history("B1", NOW)[-4:] + failing_debits_history("B2", NOW)[-4:]
    ingest_events(IngestEvents(tail, source="t"), uow=container.uow(), setup=container.ingest)
    first, second = sorted(_pending_decisions(container), key=lambda r: r.subject)
    with pytest.raises(InvalidInput):
        approvals.reject(approvals.Reject(first.request_id, team["pat"], " "), uow=container.uow())

    approvals.reject(
        approvals.Reject(first.request_id, team["pat"], "called the borrower: paid today"),
        uow=container.uow(),
    )
    decide(container)
    assert [r.subject for r in _pending_decisions(container)] == ["B2"], "B1 not re-proposed"

    cover = ask(
        container, team["cara"], "override", override("B2", manual_channels=["app_balance"])
    )
    approve(container, team["paul"], cover.request_id)

    where = approvals.QueueFilter(state="withdrawn", kind="decision")
    (stale,) = approvals.list_requests(where, uow=container.uow()).items
    assert (stale.request_id, stale.comment) == (
        second.request_id,
        f"superseded: the borrower's methods are now set by decision {cover.request_id}",
    ), "withdrawn as soon as the override replaced what it was held against"
    with pytest.raises(ApprovalNotPending, match="already withdrawn"):
        approve(container, team["pat"], second.request_id)
    release = entitlements.ReleaseDecision(
        entitlements.HeldDecision.from_payload(second.payload), second.request_id, "pat"
    )
    with pytest.raises(ApprovalPayloadChanged, match="changed since"), container.uow() as uow:
        entitlements.release_decision(release, uow=uow)  # had it been approved before that
    stored = entitlement(container, "B2")
    assert stored is not None
    assert stored.rule_id == entitlements.OVERRIDE_RULE


def test_an_emergency_action_is_reviewed_by_someone_other_than_who_took_it(
    container: Container,
) -> None:
    team = make_team(container)
    review = {
        "action_id": "overlay-2026-03-01",
        "action": "tighten-t4",
        "taken_at": (NOW - timedelta(hours=3)).isoformat(),
        "taken_by": "pat",
        "scope": "tier T4",
        "description": "bureau outage: T4 auto-debit made mandatory for 48 hours",
    }
    asked = ask(container, team["amy"], "emergency_review", review)
    for who in ("amy", "pat"):
        with pytest.raises(MakerCannotApprove):
            approve(container, team[who], asked.request_id)
    future = {**review, "action_id": "x", "taken_at": (NOW + timedelta(hours=1)).isoformat()}
    with pytest.raises(ApprovalPayloadInvalid, match="after it was taken"):
        ask(container, team["ann"], "emergency_review", future)

    done = approve(container, team["paul"], asked.request_id)

    assert done.outcome == {"endorsed": True}
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    (verdict,) = [m.payload for m in bus.published if m.name == approvals.EMERGENCY_REVIEWED]
    assert (verdict["endorsed"], verdict["reviewed_by"], verdict["taken_by"]) == (
        True,
        "paul",
        "pat",
    )
    stored = approvals.get_request(asked.request_id, uow=container.uow())
    with container.session_factory() as session:
        row = session.get(ApprovalRequestRow, asked.request_id)
        assert row is not None
        assert approvals.payload_sha256(row.payload) == stored.payload_sha256


@pytest.mark.parametrize("written", ["PAT", " pat", "Pat "])
def test_who_took_an_emergency_action_is_excluded_by_operator_id_however_his_name_is_written(
    container: Container, written: str
) -> None:
    team = make_team(container)
    review = {
        "action_id": "overlay-2026-03-02",
        "action": "tighten-t4",
        "taken_at": (NOW - timedelta(hours=3)).isoformat(),
        "taken_by": written,
        "description": "bureau outage: T4 auto-debit made mandatory for 48 hours",
    }
    asked = ask(container, team["ann"], "emergency_review", review)

    with pytest.raises(MakerCannotApprove):
        approve(container, team["pat"], asked.request_id)
    assert (asked.payload["taken_by"], asked.payload["taken_by_id"]) == ("pat", team["pat"])
    assert approve(container, team["paul"], asked.request_id).state == "approved"


def test_an_emergency_action_taken_by_nobody_known_is_refused(container: Container) -> None:
    team = make_team(container)
    review = {
        "action_id": "overlay-2026-03-03",
        "action": "tighten-t4",
        "taken_at": (NOW - timedelta(hours=3)).isoformat(),
        "taken_by": "mallory",
        "description": "who did this?",
    }
    with pytest.raises(ApprovalPayloadInvalid, match="no operator named 'mallory'"):
        ask(container, team["ann"], "emergency_review", review)
