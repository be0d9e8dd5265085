"""Complaints on SQLite and PostgreSQL: filing against one's own decisions, the open appeal
reaching the policy, the SLA and its escalation, upholding, the borrower's notices about the case
(in their language, in their inbox), outcome labels, statements encrypted at rest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest

from repayguard import complaints, entitlements
from repayguard.bootstrap import Container, bootstrap
from repayguard.complaints.errors import (
    ComplaintAlreadyOpen,
    ComplaintInvalid,
    ComplaintNotOpen,
    ComplaintResolverNotAllowed,
)
from repayguard.complaints.models import ComplaintRow
from repayguard.decisions.errors import DecisionNotFound
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import make_team
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.complaints import (
    FREEZING_POLICY,
    SUSPENDING_POLICY,
    entitlement,
    file,
    latest_decision,
    published,
    resolve,
    setup_of,
)
from support.notices import failed_debits, inbox, one_pass, profile


def ingest(container: Container, events: list[dict[str, object]]) -> None:
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)


@pytest.fixture
def decided(container: Container, clock: FixedClock) -> Container:
    """B1 decided with failing debits (auto-debit disabled), B2 healthy; an hour later."""
    ingest(container, failing_debits_history("B1", NOW) + healthy_history("B2", NOW))
    clock.advance(timedelta(hours=1))
    return container


def test_a_borrower_files_against_their_latest_decision_and_is_told_in_their_language(
    decided: Container,
) -> None:
    container = decided
    profile(container, "B1", "en")
    contested = latest_decision(container, "B1")

    case = file(container, "B1", ("auto_debit", "manual_channels"))

    assert (case.decision_id, case.status, case.contested) == (
        contested.decision_id,
        "open",
        ("auto_debit", "manual_channels"),
    )
    assert case.due_at == case.filed_at + timedelta(days=15)
    (told,) = case.notices
    assert (told.kind, told.locale, told.subject, told.occasion_id, told.decision_id) == (
        "complaint_received",
        "en",
        "We received your complaint",
        case.complaint_id,
        contested.decision_id,
    )
    assert case.complaint_id in told.body
    assert "- Automatic debit\n- Channels for repaying by hand" in told.body
    assert "16 March 2026" in told.body, "the deadline, in the notices' time zone"
    assert [(d.channel, d.status) for d in told.deliveries] == [("inbox", "delivered")]
    assert told.notice_id in [n.notice_id for n in inbox(container, "B1")], "in the inbox"
    (filed,) = published(container, complaints.COMPLAINT_FILED)
    assert (filed["borrower_id"], filed["complaint_id"]) == ("B1", case.complaint_id)
    other = file(container, "B2", ("early_repayment",))
    assert other.notices[0].subject == "我们已收到您的投诉", "no profile: the default zh-CN"


def test_the_statement_is_encrypted_at_rest_and_never_published(decided: Container) -> None:
    container = decided
    planted = "卡号变更 canary-7f3a9c: the bank replaced my card on 3 February"
    case = file(container, "B1", statement=planted)

    with container.session_factory() as session:
        row = session.get(ComplaintRow, case.complaint_id)
        assert row is not None
        assert row.statement_enc.startswith(f"rg1.{row.key_id}.")
        assert "canary-7f3a9c" not in row.statement_enc
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    assert not [m for m in bus.published if "canary-7f3a9c" in str(m.payload)]
    told = inbox(container, "B1")
    assert "complaint_received" in [n.kind for n in told]
    assert not [n for n in told if "canary-7f3a9c" in n.subject + n.body], "notices leave by SMS"
    url = container.settings.database_url
    if url.startswith("sqlite:///"):
        stored = Path(url.removeprefix("sqlite:///"))
        for part in (stored, stored.with_name(stored.name + "-wal")):
            if part.exists():
                assert b"canary-7f3a9c" not in part.read_bytes(), f"in clear in {part.name}"
    shown = complaints.get_complaint(
        complaints.GetComplaint(case.complaint_id), uow=container.uow(), setup=setup_of(container)
    )
    assert shown.complaint.statement == planted
    (viewed,) = published(container, complaints.COMPLAINT_VIEWED)
    assert viewed["purpose"] == "complaint_review", "reading the statement is on the record"

    rotated = setup_of(container).keyring.with_new_active_key()
    report = complaints.rotate_statements(uow=container.uow, keyring=rotated)
    assert (report.rotated, report.remaining) == (1, 0)
    with container.session_factory() as session:
        row = session.get(ComplaintRow, case.complaint_id)
        assert row is not None
        assert row.key_id == rotated.active
        assert complaints.unseal(rotated, case.complaint_id, row.statement_enc) == planted


def test_filing_is_refused_for_another_borrowers_decision_and_twice_for_one_decision(
    decided: Container,
) -> None:
    container = decided
    theirs = latest_decision(container, "B2")
    with pytest.raises(DecisionNotFound, match="B1 has no decision"):
        file(container, "B1", decision_id=theirs.decision_id)
    with pytest.raises(DecisionNotFound, match="nothing to contest"):
        file(container, "NOBODY")
    with pytest.raises(ComplaintInvalid, match="statement"):
        file(container, "B1", statement="   ")
    with pytest.raises(ComplaintInvalid, match="'sms'"):
        file(container, "B1", ("sms",))
    first = file(container, "B1")

    with pytest.raises(ComplaintAlreadyOpen, match=first.complaint_id):
        file(container, "B1")

    mine = latest_decision(container, "B1")
    assert mine.rule_id == "appeal-freeze", "the re-decision while open is not a new target"
    with pytest.raises(ComplaintAlreadyOpen):
        file(container, "B1", decision_id=first.decision_id)
    assert file(container, "B2", decision_id=theirs.decision_id).decision_id == theirs.decision_id


def test_an_open_appeal_reaches_the_policy_until_the_case_is_upheld(
    decided: Container, clock: FixedClock
) -> None:
    container = decided
    before = entitlement(container, "B1")
    assert (before.rule_id, before.states.auto_debit) == ("failed-debits", "disabled")
    team = make_team(container)

    case = file(container, "B1")

    frozen = latest_decision(container, "B1")
    assert (frozen.rule_id, frozen.inputs["open_appeal"]) == ("appeal-freeze", True)
    now = entitlement(container, "B1")
    assert (now.rule_id, now.states) == ("appeal-freeze", before.states), "kept as it was"
    assert "APPEAL_PENDING" in now.reasons
    clock.advance(timedelta(days=2))
    ingest(container, healthy_history("B1", clock.now())[-3:])
    assert latest_decision(container, "B1").rule_id == "appeal-freeze", "new events: still frozen"
    with pytest.raises(ComplaintResolverNotAllowed):
        resolve(container, case.complaint_id, team["pat"], "uphold")
    with pytest.raises(ComplaintInvalid, match="say why"):
        resolve(container, case.complaint_id, team["cara"], "uphold", comment=" ")
    clock.advance(timedelta(minutes=5))

    done = resolve(container, case.complaint_id, team["cara"], "uphold", "debits failed 3 times")

    assert (done.status, done.reviewer_name, done.comment) == (
        "upheld",
        "cara",
        "debits failed 3 times",
    )
    after = latest_decision(container, "B1")
    assert (after.rule_id, after.inputs["open_appeal"]) == ("failed-debits", False)
    assert entitlement(container, "B1").rule_id == "failed-debits"
    with container.session_factory() as session:
        assert entitlements.flags_of(session, ["B1"]) == {}
    with pytest.raises(ComplaintNotOpen, match="already upheld"):
        resolve(container, case.complaint_id, team["cara"], "reverse")
    (resolved,) = published(container, complaints.COMPLAINT_RESOLVED)
    assert (resolved["outcome"], resolved["reviewer"]) == ("upheld", "cara")
    assert "debits failed" not in str(resolved), "the comment is pinned by its hash only"
    assert [x.kind for x in done.notices] == ["complaint_received", "complaint_resolved"]
    (shown,) = complaints.borrower_complaints("B1", uow=container.uow())
    assert [x.kind for x in shown.notices] == ["complaint_received", "complaint_resolved"]
    resolved_notice = shown.notices[1]
    assert resolved_notice.subject == "您的投诉已复核：维持原决定"
    assert "debits failed" not in resolved_notice.body, "never the agent's comment"
    assert resolved_notice.notice_id in [n.notice_id for n in inbox(container, "B1")]


def under_policy(
    text: str, database_url: str, tmp_path: Path, clock: FixedClock
) -> Iterator[Container]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    settings = make_settings(database_url, tmp_path, policy_path=policy)
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        yield built


@pytest.fixture
def suspending(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    yield from under_policy(SUSPENDING_POLICY, database_url, tmp_path, clock)


@pytest.fixture
def freezing(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    yield from under_policy(FREEZING_POLICY, database_url, tmp_path, clock)


def test_a_policy_that_says_so_suspends_the_contested_restriction_while_the_case_is_open(
    suspending: Container, clock: FixedClock
) -> None:
    container = suspending
    team = make_team(container)
    ingest(container, failing_debits_history("B1", NOW))
    assert entitlement(container, "B1").states.early_repayment == "restricted"
    clock.advance(timedelta(hours=1))

    case = file(container, "B1", ("early_repayment",))

    suspended = entitlement(container, "B1")
    assert (suspended.rule_id, suspended.states.auto_debit, suspended.states.early_repayment) == (
        "appeal-suspends",
        "optional",
        "allowed",
    )
    assert container.view is not None
    assert container.view.get("B1") == suspended, "authorize answers from the suspension"
    clock.advance(timedelta(days=3))
    resolve(container, case.complaint_id, team["cara"], "uphold")
    back = entitlement(container, "B1")
    assert (back.rule_id, back.states.early_repayment) == ("failing-debits", "restricted")


def test_an_open_appeal_pre_empts_a_restriction_still_in_its_notice_period(
    freezing: Container, clock: FixedClock
) -> None:
    container = freezing
    team = make_team(container)
    profile(container, "B1", "en")
    ingest(container, failed_debits("B1", NOW, [5, 4, 3]))
    announced = entitlement(container, "B1")
    assert (announced.states.early_repayment, announced.effective_at) == (
        "restricted",
        NOW + timedelta(days=14),
    )
    assert announced.interim is not None
    assert announced.interim.early_repayment == "allowed"
    clock.advance(timedelta(days=1))

    case = file(container, "B1", ("early_repayment",))

    frozen = entitlement(container, "B1")
    assert (frozen.rule_id, frozen.states.early_repayment, frozen.interim) == (
        "appeal-freeze",
        "allowed",
        None,
    ), "kept as in force: the announced restriction does not go ahead while the case is open"
    assert container.view is not None
    assert container.view.get("B1") == frozen
    told = inbox(container, "B1")
    assert told[0].kind == "advance"
    assert sorted(n.kind for n in told[1:]) == ["complaint_received", "withdrawal"], "same instant"
    clock.advance(timedelta(days=14))
    one_pass(container)
    assert entitlement(container, "B1").states.early_repayment == "allowed", "nothing activated"

    resolve(container, case.complaint_id, team["cara"], "uphold")

    again = entitlement(container, "B1")
    assert (again.rule_id, again.states.early_repayment, again.effective_at) == (
        "some-failed-debits",
        "restricted",
        clock.now() + timedelta(days=14),
    ), "upheld: the policy decides afresh and a new notice period starts"
    latest = sorted(n.kind for n in inbox(container, "B1")[-2:])
    assert latest == ["advance", "complaint_resolved"], "told of both, at the same instant"


def test_the_sla_is_escalated_as_it_nears_and_once_overdue_once_each(
    decided: Container, clock: FixedClock
) -> None:
    container = decided
    case = file(container, "B1")
    window = timedelta(days=3)

    def escalate() -> tuple[int, int]:
        report = complaints.escalate_due(uow=container.uow(), escalate_before=window)
        return report.due_soon, report.overdue

    assert escalate() == (0, 0)
    clock.advance(timedelta(days=12) - timedelta(minutes=1))
    assert escalate() == (0, 0), "just outside the window"
    clock.advance(timedelta(minutes=2))
    assert escalate() == (1, 0)
    assert escalate() == (0, 0), "idempotent"
    clock.advance(timedelta(days=3))
    assert escalate() == (0, 1)
    assert escalate() == (0, 0)

    assert [e["level"] for e in published(container, complaints.COMPLAINT_ESCALATED)] == [
        "due_soon",
        "overdue",
    ]
    where = complaints.QueueFilter(overdue=True)
    (overdue,) = complaints.list_complaints(where, uow=container.uow()).items
    assert (overdue.complaint_id, overdue.overdue, overdue.escalation) == (
        case.complaint_id,
        True,
        "overdue",
    )
    assert (
        complaints.list_complaints(
            complaints.QueueFilter(status="closed"), uow=container.uow()
        ).items
        == []
    )


def test_the_worker_runs_the_escalation_job_with_the_configured_deadline(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    settings = make_settings(database_url, tmp_path)
    settings = settings.model_copy(
        update={
            "complaints": settings.complaints.model_validate(
                {"sla_days": 5, "escalate_before_days": 1}
            )
        }
    )
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as container:
        assert complaints.JOB_NAME in container.jobs.names()
        ingest(container, failing_debits_history("B1", NOW))
        case = file(container, "B1")
        assert case.due_at == NOW + timedelta(days=5)
        clock.advance(timedelta(days=4, minutes=1))

        first = one_pass(container)[complaints.JOB_NAME]
        clock.advance(timedelta(hours=1))
        second = one_pass(container)[complaints.JOB_NAME]

    assert (first.status, dict(first.counts)) == ("ran", {"due_soon": 1, "overdue": 0})
    assert dict(second.counts) == {"due_soon": 0, "overdue": 0}


def test_each_resolved_case_becomes_a_training_label(decided: Container) -> None:
    container = decided
    team = make_team(container)
    upheld = file(container, "B1")
    resolve(container, upheld.complaint_id, team["cara"], "uphold")
    assert complaints.outcome_labels(uow=container.uow()).height == 1
    file(container, "B2", ("early_repayment",))

    labels = complaints.outcome_labels(uow=container.uow())

    contested = latest_decision(container, "B1")
    assert labels.schema == pl.Schema(
        {
            "complaint_id": pl.String(),
            "borrower_id": pl.String(),
            "decision_id": pl.String(),
            "as_of": pl.Datetime("us", "UTC"),
            "rule_id": pl.String(),
            "model_version": pl.String(),
            "outcome": pl.String(),
            "resolved_at": pl.Datetime("us", "UTC"),
        }
    )
    row = labels.row(0, named=True)
    assert (row["borrower_id"], row["decision_id"], row["outcome"], row["rule_id"]) == (
        "B1",
        upheld.decision_id,
        "upheld",
        "failed-debits",
    )
    assert row["as_of"] == NOW, "the contested decision's time: features join point-in-time"
    assert contested.decision_id != upheld.decision_id, "decided again after the case closed"
    assert complaints.outcome_labels(uow=container.uow(), since=NOW + timedelta(days=1)).height == 0
