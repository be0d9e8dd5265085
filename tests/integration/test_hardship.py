"""Hardship cases on SQLite and PostgreSQL: an open case reaches the policy as ``open_hardship``
and pre-empts tightening exactly as an open appeal does, closing decides afresh, the opener never
decides their own case, the SLA escalates, the borrower is told in their language, and the
evidence and review notes are sealed at rest and re-sealed when the data key rotates."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from repayguard import decisions, hardship
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers.errors import BorrowerNotFound
from repayguard.hardship.errors import (
    HardshipCaseAlreadyOpen,
    HardshipCaseInvalid,
    HardshipCaseNotOpen,
    HardshipReviewerNotAllowed,
)
from repayguard.hardship.models import HardshipCaseRow
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import make_team
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.complaints import entitlement, latest_decision, published
from support.hardship import EVIDENCE, HARDSHIP_FREEZING_POLICY, close_case, open_case, setup_of
from support.notices import failed_debits, inbox, one_pass, profile


def ingest(container: Container, events: list[dict[str, object]]) -> None:
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)


@pytest.fixture
def decided(container: Container, clock: FixedClock) -> Container:
    """Under the shipped policy: B1 decided with failing debits, B2 healthy; an hour later."""
    ingest(container, failing_debits_history("B1", NOW) + healthy_history("B2", NOW))
    clock.advance(timedelta(hours=1))
    return container


@pytest.fixture
def freezing(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Container]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(HARDSHIP_FREEZING_POLICY)
    settings = make_settings(database_url, tmp_path, policy_path=policy)
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        yield built


def test_opening_a_case_reaches_the_shipped_policy_as_open_hardship_and_tells_the_borrower(
    decided: Container,
) -> None:
    container = decided
    profile(container, "B1", "en")
    before = latest_decision(container, "B1")
    assert before.inputs["open_hardship"] is False

    case = open_case(container, "B1", "illness")

    assert (case.status, case.reason, case.opened_by) == ("open", "illness", "borrower")
    assert case.due_at == case.opened_at + timedelta(days=10)
    now = latest_decision(container, "B1")
    assert now.decision_id != before.decision_id, "decided again at once"
    assert (now.inputs["open_hardship"], now.rule_id) == (True, "hardship-freeze")
    assert "HARDSHIP_PENDING" in now.reasons
    assert entitlement(container, "B1").states == before.states, "kept as it was"
    with container.session_factory() as session:
        (run, *_) = decisions.recent_runs(session, limit=1)
    assert run.trigger == "hardship"
    (told,) = case.notices
    assert (told.kind, told.locale, told.occasion_id) == ("hardship_opened", "en", case.case_id)
    assert told.subject == "We received your request for hardship relief"
    assert "because of illness" in told.body
    assert "11 March 2026" in told.body, "the deadline, in the notices' time zone"
    (opened,) = published(container, hardship.HARDSHIP_OPENED)
    assert (opened["borrower_id"], opened["case_id"], opened["reason"]) == (
        "B1",
        case.case_id,
        "illness",
    )
    other = open_case(container, "B2", "natural_disaster")
    assert other.notices[0].subject == "我们已收到您的困难援助申请", "no profile: zh-CN"
    assert "自然灾害" in other.notices[0].body


def test_an_open_case_pre_empts_a_restriction_in_its_notice_period_and_closing_decides_afresh(
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
    clock.advance(timedelta(days=1))

    case = open_case(container, "B1", operator_id=team["cara"])

    frozen = entitlement(container, "B1")
    assert (frozen.rule_id, frozen.states.early_repayment, frozen.interim) == (
        "hardship-freeze",
        "allowed",
        None,
    ), "the announced restriction does not go ahead while the case is open"
    assert container.view is not None
    assert container.view.get("B1") == frozen, "authorize answers from the freeze"
    told = inbox(container, "B1")
    assert told[0].kind == "advance"
    assert sorted(n.kind for n in told[1:]) == ["hardship_opened", "withdrawal"]
    clock.advance(timedelta(days=14))
    one_pass(container)
    assert entitlement(container, "B1").states.early_repayment == "allowed", "nothing activated"

    closed = close_case(container, case.case_id, team["carl"], "declined", "no evidence came")

    assert (closed.status, closed.reviewer_name) == ("declined", "carl")
    again = entitlement(container, "B1")
    assert (again.rule_id, again.states.early_repayment, again.effective_at) == (
        "some-failed-debits",
        "restricted",
        clock.now() + timedelta(days=14),
    ), "closed: the policy decides afresh and a new notice period starts"
    latest = sorted(n.kind for n in inbox(container, "B1")[-2:])
    assert latest == ["advance", "hardship_closed"]
    closing = next(n for n in inbox(container, "B1") if n.kind == "hardship_closed")
    assert closing.subject == "Your request for hardship relief was reviewed"
    assert "no evidence came" not in closing.body, "never the reviewer's note"
    (event,) = published(container, hardship.HARDSHIP_CLOSED)
    assert (event["outcome"], event["reviewer"]) == ("declined", "carl")


def test_one_open_case_per_borrower_and_only_for_a_known_borrower_with_a_known_reason(
    decided: Container,
) -> None:
    container = decided
    first = open_case(container, "B1")
    with pytest.raises(HardshipCaseAlreadyOpen) as refused:
        open_case(container, "B1", "illness")
    assert refused.value.detail["case_id"] == first.case_id
    with pytest.raises(BorrowerNotFound):
        open_case(container, "NOBODY")
    with pytest.raises(HardshipCaseInvalid, match="'lottery' is not a hardship reason"):
        open_case(container, "B2", "lottery")
    with pytest.raises(HardshipCaseInvalid, match="evidence"):
        open_case(container, "B2", evidence="   ")
    where = hardship.HardshipFilter()
    assert [c.case_id for c in hardship.list_hardship(where, uow=container.uow()).items] == [
        first.case_id
    ]


def test_the_opener_never_decides_their_own_case_and_only_reviewers_close(
    decided: Container,
) -> None:
    container = decided
    team = make_team(container)
    with pytest.raises(HardshipReviewerNotAllowed, match="an auditor may not open"):
        open_case(container, "B1", operator_id=team["aud"])
    case = open_case(container, "B1", operator_id=team["cara"])
    assert case.opened_by == f"operator:{team['cara']}"

    with pytest.raises(HardshipReviewerNotAllowed, match="cara opened hardship case"):
        close_case(container, case.case_id, team["cara"], "granted")
    with pytest.raises(HardshipReviewerNotAllowed, match="an analyst may not close"):
        close_case(container, case.case_id, team["ann"], "declined")
    with pytest.raises(HardshipCaseInvalid, match="note"):
        close_case(container, case.case_id, team["carl"], "granted", note=" ")
    with pytest.raises(HardshipCaseInvalid, match="'approved' is not an outcome"):
        close_case(container, case.case_id, team["carl"], "approved")

    granted = close_case(container, case.case_id, team["carl"], "granted", "letter checked")

    assert (granted.status, granted.reviewer_name) == ("granted", "carl")
    assert sorted(n.kind for n in granted.notices) == ["hardship_closed", "hardship_opened"]
    with pytest.raises(HardshipCaseNotOpen):
        close_case(container, case.case_id, team["amy"], "declined")
    assert latest_decision(container, "B1").inputs["open_hardship"] is False, "flag lowered"
    again = open_case(container, "B1", operator_id=team["cara"])
    withdrawn = close_case(container, again.case_id, team["cara"], "withdrawn", "asked to")
    assert withdrawn.status == "withdrawn", "the opener may record a withdrawal"


def test_the_sla_is_escalated_as_it_nears_and_once_overdue_once_each(
    decided: Container, clock: FixedClock
) -> None:
    container = decided
    case = open_case(container, "B1")

    def escalate() -> tuple[int, int]:
        report = hardship.escalate_hardship(uow=container.uow(), escalate_before=timedelta(days=2))
        return report.due_soon, report.overdue

    assert escalate() == (0, 0)
    clock.advance(timedelta(days=8, minutes=1))
    assert escalate() == (1, 0)
    assert escalate() == (0, 0), "idempotent"
    clock.advance(timedelta(days=2))
    assert escalate() == (0, 1)
    assert escalate() == (0, 0)
    levels = [e["level"] for e in published(container, hardship.HARDSHIP_ESCALATED)]
    assert levels == ["due_soon", "overdue"]
    (overdue,) = hardship.list_hardship(
        hardship.HardshipFilter(overdue=True), uow=container.uow()
    ).items
    assert (overdue.case_id, overdue.overdue, overdue.escalation) == (
        case.case_id,
        True,
        "overdue",
    )
    reports = one_pass(container)
    assert hardship.JOB_NAME in reports, "the worker runs the escalation"


def test_notes_are_sealed_at_rest_read_on_the_record_and_re_sealed_on_rotation(
    decided: Container,
) -> None:
    container = decided
    team = make_team(container)
    planted = f"canary-91c2e {EVIDENCE}"
    case = open_case(container, "B1", "family_emergency", planted)
    close_case(container, case.case_id, team["carl"], "granted", "canary-note-5d1 checked")
    with container.session_factory() as session:
        row = session.get(HardshipCaseRow, case.case_id)
        assert row is not None
        assert row.evidence_enc.startswith(f"rg1.{row.key_id}.")
        assert row.note_enc is not None
        assert row.note_enc.startswith(f"rg1.{row.key_id}.")
        assert "canary" not in row.evidence_enc + row.note_enc
    bus = container.bus
    assert isinstance(bus, RecordingBus)
    assert not [m for m in bus.published if "canary" in str(m.payload)]
    assert not [n for n in inbox(container, "B1") if "canary" in n.subject + n.body]

    shown = hardship.get_hardship(
        hardship.GetHardship(case.case_id), uow=container.uow(), setup=setup_of(container)
    )
    assert (shown.case.evidence, shown.case.note) == (planted, "canary-note-5d1 checked")
    (viewed,) = published(container, hardship.HARDSHIP_VIEWED)
    assert viewed["purpose"] == "hardship_review"

    rotated = setup_of(container).keyring.with_new_active_key()
    assert hardship.pending_note_rotation(uow=container.uow(), keyring=rotated) == 1
    report = hardship.rotate_notes(uow=container.uow, keyring=rotated)
    assert (report.rotated, report.remaining) == (1, 0)
    assert hardship.note_key_usage(uow=container.uow()) == {rotated.active: 1}
    (batch,) = published(container, hardship.HARDSHIP_NOTES_ROTATED)
    assert batch["cases"] == 1
    again = hardship.get_hardship(
        hardship.GetHardship(case.case_id),
        uow=container.uow(),
        setup=replace(setup_of(container), keyring=rotated),
    )
    assert (again.case.evidence, again.case.note) == (planted, "canary-note-5d1 checked")
    with container.session_factory() as session:
        row = session.get(HardshipCaseRow, case.case_id)
        assert row is not None
        assert row.key_id == rotated.active
        assert row.evidence_enc.startswith(f"rg1.{rotated.active}.")
        assert row.note_enc is not None
        assert row.note_enc.startswith(f"rg1.{rotated.active}.")
