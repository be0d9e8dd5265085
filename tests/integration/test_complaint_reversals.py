"""Reversing a decision on a complaint, on SQLite and PostgreSQL: a manual override the agent
asks for and a second person approves; the case follows the request's fate."""

from __future__ import annotations

from datetime import timedelta

import pytest

from repayguard import approvals, complaints, entitlements
from repayguard.approvals.errors import (
    ApprovalCheckerNotAllowed,
    MakerCannotApprove,
    PendingApprovalExists,
)
from repayguard.bootstrap import Container
from repayguard.complaints.errors import ComplaintNotOpen
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock

from support.approvals import context_of, make_team, override
from support.builders import failing_debits_history
from support.common import NOW
from support.complaints import entitlement, file, latest_decision, published, resolve
from support.notices import inbox, profile


@pytest.fixture
def team(container: Container, clock: FixedClock) -> dict[str, str]:
    """B1 decided with failing debits (auto-debit disabled), an English profile; the team."""
    ingest_events(
        IngestEvents(failing_debits_history("B1", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )
    profile(container, "B1", "en")
    clock.advance(timedelta(hours=1))
    return make_team(container)


def approve(container: Container, who: str, request_id: str) -> approvals.ApprovalRead:
    return approvals.approve(
        approvals.Approve(request_id, who, "agree"),
        uow=container.uow(),
        context=context_of(container),
    )


def test_a_reversal_is_an_override_the_agent_asks_for_and_a_second_person_approves(
    container: Container, team: dict[str, str], clock: FixedClock
) -> None:
    contested = latest_decision(container, "B1")
    case = file(container, "B1", ("auto_debit",))

    asked = resolve(container, case.complaint_id, team["cara"], "reverse", "card was replaced")

    assert (asked.status, asked.reviewer_name) == ("reversal_pending", "cara")
    assert asked.approval_id is not None
    request = approvals.get_request(asked.approval_id, uow=container.uow())
    assert (request.kind, request.subject, request.maker_name, request.state) == (
        "override",
        "B1",
        "cara",
        "pending",
    )
    assert request.payload["states"] == {
        "auto_debit": "optional",
        "early_repayment": contested.states.early_repayment,
        "manual": contested.states.manual,
        "manual_channels": list(contested.states.manual_channels),
    }, "only the contested method goes back to its open state"
    assert request.payload["days"] == 90
    assert case.complaint_id in request.payload["note"]
    assert entitlement(container, "B1").states.auto_debit == "disabled", "nothing changed yet"
    with pytest.raises(ComplaintNotOpen, match="waits for a second person"):
        resolve(container, case.complaint_id, team["carl"], "uphold")
    for agent in ("cara", "carl"):  # the maker, and any other agent: never a checker
        with pytest.raises(ApprovalCheckerNotAllowed):
            approve(container, team[agent], asked.approval_id)
    assert complaints.borrower_complaints("B1", uow=container.uow())[0].status == (
        "reversal_pending"
    )
    clock.advance(timedelta(hours=2))

    approve(container, team["pat"], asked.approval_id)

    (closed,) = complaints.borrower_complaints("B1", uow=container.uow())
    assert (closed.status, closed.resolved_at) == ("reversed", clock.now())
    now = entitlement(container, "B1")
    assert (now.rule_id, now.decision_id, now.states.auto_debit) == (
        entitlements.OVERRIDE_RULE,
        asked.approval_id,
        "optional",
    )
    assert now.expires_at == clock.now() + timedelta(days=90)
    assert container.view is not None
    assert container.view.get("B1") == now, "authorize serves the reversal at once"
    with container.session_factory() as session:
        assert entitlements.flags_of(session, ["B1"]) == {}, "the appeal is closed"
    assert [x.subject for x in closed.notices] == [
        "We received your complaint",
        "We agree with your complaint: the decision is changed",
        "We are sorry: how we are putting things right",  # the remedies' apology
    ]
    told = inbox(container, "B1")
    assert {"restoration", "complaint_resolved", "remedy_apology"} <= {n.kind for n in told[-3:]}, (
        "in the approval's transaction: the change of methods, as for any change, the case's "
        "outcome and the remedies' apology all reach the inbox"
    )
    (resolved,) = published(container, complaints.COMPLAINT_RESOLVED)
    assert (resolved["outcome"], resolved["approved_by"]) == ("reversed", "pat")
    labels = complaints.outcome_labels(uow=container.uow())
    assert labels.select("decision_id", "outcome").rows() == [(contested.decision_id, "reversed")]


def test_a_refused_reversal_opens_the_case_again(
    container: Container, team: dict[str, str]
) -> None:
    case = file(container, "B1", ("auto_debit", "manual_channels"))
    asked = resolve(container, case.complaint_id, team["cara"], "reverse", "looks wrong")
    assert asked.approval_id is not None
    with pytest.raises(PendingApprovalExists):
        approvals.request_approval(
            approvals.RequestApproval("override", override("B1"), by=team["carl"]),
            uow=container.uow(),
            context=context_of(container),
        )

    approvals.reject(
        approvals.Reject(asked.approval_id, team["pat"], "the debits failed for lack of funds"),
        uow=container.uow(),
    )

    (reopened,) = complaints.borrower_complaints("B1", uow=container.uow())
    assert (reopened.status, reopened.resolved_at) == ("open", None)
    (refused,) = published(container, complaints.COMPLAINT_REVERSAL_REFUSED)
    assert (refused["approval_id"], refused["approval_state"]) == (asked.approval_id, "rejected")
    assert entitlement(container, "B1").rule_id == "appeal-freeze", "still under appeal"
    again = resolve(container, case.complaint_id, team["carl"], "reverse", "second look")
    assert again.approval_id not in (None, asked.approval_id)
    approvals.withdraw(
        approvals.Withdraw(again.approval_id or "", team["carl"], "changed my mind"),
        uow=container.uow(),
    )
    upheld = resolve(container, case.complaint_id, team["carl"], "uphold", "funds were missing")
    assert upheld.status == "upheld"
    assert complaints.outcome_labels(uow=container.uow())["outcome"].to_list() == ["upheld"]


def test_an_admin_who_reverses_cannot_approve_the_reversal_another_admin_can(
    container: Container, team: dict[str, str]
) -> None:
    case = file(container, "B1", ("manual_channels",))
    policy = container.decision_engine.policy

    asked = resolve(container, case.complaint_id, team["amy"], "reverse", "channel missing")

    assert asked.approval_id is not None
    request = approvals.get_request(asked.approval_id, uow=container.uow())
    assert set(request.payload["states"]["manual_channels"]) == set(policy.channels)
    assert request.payload["states"]["auto_debit"] == "disabled", "not contested: kept"
    with pytest.raises(MakerCannotApprove):
        approve(container, team["amy"], asked.approval_id)
    assert complaints.borrower_complaints("B1", uow=container.uow())[0].status == (
        "reversal_pending"
    )
    approve(container, team["adam"], asked.approval_id)
    assert complaints.borrower_complaints("B1", uow=container.uow())[0].status == "reversed"
