"""Emergency overlays end to end, on SQLite and PostgreSQL: a playbook approved in advance
(maker != checker), armed by a detector's incident on the bus, tightening the T4-T5 segment at
once with explanation notices; expiry and lapse on the worker restoring methods with
restoration notices; the review by a second person only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from repayguard import approvals, entitlements, monitoring, overlays, policies
from repayguard.approvals.errors import MakerCannotApprove
from repayguard.bootstrap import Container
from repayguard.entitlements import AuthorizeRequest
from repayguard.overlays.errors import OverlayReviewerNotAllowed, PlaybookNotApproved
from repayguard.platform.clock import FixedClock
from repayguard.platform.messages import Message
from repayguard.resources import read_text

from support.approvals import context_of, make_team
from support.builders import failing_debits_history, healthy_history
from support.common import NOW
from support.complaints import latest_decision
from support.notices import decide, inbox, ingest, one_pass, profile

PLAYBOOK = read_text("playbooks/market-stress.yaml")


@pytest.fixture
def team(container: Container, clock: FixedClock) -> dict[str, str]:
    """B1 in tier T5 (failing debits), B2 in T1, both with an English profile; the team, and
    the shipped market-stress playbook submitted by ann, put up for approval by amy and approved
    by pat."""
    ingest(container, failing_debits_history("B1", NOW) + healthy_history("B2", NOW))
    for borrower in ("B1", "B2"):
        profile(container, borrower, "en")
    members = make_team(container)
    overlays.submit_playbook(
        overlays.SubmitPlaybook(PLAYBOOK, by="ann"),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    request = approvals.request_approval(
        approvals.RequestApproval(
            "playbook_approve", {"name": "market-stress", "version": 1}, by=members["amy"]
        ),
        uow=container.uow(),
        context=context_of(container),
    )
    with pytest.raises(MakerCannotApprove):
        _approve(container, members["amy"], request.request_id)
    approved = _approve(container, members["pat"], request.request_id)
    assert approved.outcome == {"name": "market-stress", "version": 1, "state": "approved"}
    clock.advance(timedelta(hours=1))
    return members


def _approve(container: Container, who: str, request_id: str) -> approvals.ApprovalRead:
    return approvals.approve(
        approvals.Approve(request_id, who, "pre-approved for market stress"),
        uow=container.uow(),
        context=context_of(container),
    )


def _incident(container: Container, incident_id: str = "inc-1", **changes: Any) -> None:
    """Publish ``repayguard.monitoring.incident_opened`` as the detectors do (the outbox)."""
    values: dict[str, Any] = {
        "incident_id": incident_id,
        "metric": "overdue_rate_1p",
        "segment": "tier=T5",
        "direction": "up",
        "detector": "ewma",
        "deviation_sigma": 4.2,
        "change_pct": None,
        "since": "2026-02-27",
        "value": 0.12,
        "baseline": 0.04,
        "thresholds_version": "1",
        **changes,
    }
    with container.uow() as uow:
        uow.emit(Message(monitoring.IncidentOpened(**values)))
        uow.commit()


def _early(container: Container, borrower: str) -> entitlements.AuthorizeResult:
    assert container.view is not None
    return container.view.authorize(
        AuthorizeRequest(borrower, "early_repayment"), now=container.clock.now()
    )


def _active(container: Container) -> list[overlays.OverlayRead]:
    with container.session_factory() as session:
        return overlays.list_overlays(session, active_only=True)


def _states(container: Container, borrower: str) -> tuple[str, str]:
    with container.session_factory() as session:
        found = entitlements.load(session, [borrower])[borrower]
    now = container.clock.now()
    return found.states_at(now).auto_debit, found.states_at(now).early_repayment


def test_an_incident_arms_the_playbook_and_the_segment_tightens_at_once(
    container: Container, team: dict[str, str]
) -> None:
    assert _early(container, "B1").allowed
    _incident(container)

    (overlay,) = _active(container)
    assert (overlay.playbook_name, overlay.armed_by, overlay.state) == (
        "market-stress",
        "incident:inc-1",
        "armed",
    )
    assert overlay.expires_at == container.clock.now() + timedelta(hours=72)
    assert _states(container, "B1") == ("mandatory", "restricted"), "no notice period"
    assert _states(container, "B2") == ("optional", "allowed"), "T1 is outside the segment"
    answer = _early(container, "B1")
    assert not answer.allowed
    assert "EMERGENCY_MARKET_STRESS" in answer.reasons
    assert latest_decision(container, "B1").overlay_id == overlay.overlay_id
    assert latest_decision(container, "B2").overlay_id is None
    told = [n for n in inbox(container, "B1") if n.kind == "explanation"]
    assert told
    assert "EMERGENCY_MARKET_STRESS" in told[-1].reasons
    assert told[-1].created_at == container.clock.now()
    assert not [n for n in inbox(container, "B2") if n.created_at == container.clock.now()]

    _incident(container)  # the same incident delivered again arms nothing more
    _incident(container, "inc-2", metric="utilization")  # no playbook arms on this one
    assert [o.overlay_id for o in _active(container)] == [overlay.overlay_id]


def test_a_routine_re_decision_keeps_the_overlay(
    container: Container, team: dict[str, str], clock: FixedClock
) -> None:
    _incident(container)
    clock.advance(timedelta(hours=2))
    decide(container, "B1")
    assert _states(container, "B1") == ("mandatory", "restricted")


def test_the_overlay_expires_on_time_and_methods_restore_with_notices(
    container: Container, team: dict[str, str], clock: FixedClock
) -> None:
    _incident(container)
    (overlay,) = _active(container)
    overlays.review_overlay(
        overlays.ReviewOverlay(overlay.overlay_id, "pat", team["pat"]), uow=container.uow()
    )
    clock.advance(timedelta(hours=71, minutes=59))
    one_pass(container)
    assert _states(container, "B1") == ("mandatory", "restricted"), "not yet at the deadline"

    clock.advance(timedelta(minutes=1))
    one_pass(container)
    assert _active(container) == []
    with container.session_factory() as session:
        (ended,) = overlays.list_overlays(session)
    assert (ended.state, ended.lifted_at) == ("expired", clock.now())
    assert _states(container, "B1") == ("disabled", "allowed"), "back to the policy's own"
    assert _early(container, "B1").allowed
    _told_of_restoration(container, "B1")


def test_an_overlay_nobody_reviews_lapses_at_its_review_deadline(
    container: Container, team: dict[str, str], clock: FixedClock
) -> None:
    _incident(container)
    clock.advance(timedelta(hours=24))
    one_pass(container)
    with container.session_factory() as session:
        (ended,) = overlays.list_overlays(session)
    assert ended.state == "lapsed"
    assert _states(container, "B1") == ("disabled", "allowed")
    _told_of_restoration(container, "B1")


def _told_of_restoration(container: Container, borrower: str) -> None:
    """The borrower's latest notice, written now, gives early repayment back. (Its kind is an
    explanation for B1: auto-debit going from mandatory back to the policy's ``disabled`` is
    itself a move off the open state, which notices explain.)"""
    last = inbox(container, borrower)[-1]
    assert last.created_at == container.clock.now()
    assert {
        "method": "early_repayment",
        "before": "restricted",
        "after": "allowed",
        "tightens": False,
    } in last.changes
    assert "EMERGENCY_MARKET_STRESS" not in last.reasons


def test_whoever_armed_an_overlay_may_not_review_it(
    container: Container, team: dict[str, str]
) -> None:
    armed = overlays.arm_overlay(
        overlays.ArmOverlay("market-stress", "bond market stress", "amy", team["amy"]),
        uow=container.uow(),
        profiles=policies.profiles(),
    )
    with pytest.raises(OverlayReviewerNotAllowed):
        overlays.review_overlay(
            overlays.ReviewOverlay(armed.overlay_id, "amy", team["amy"]), uow=container.uow()
        )
    reviewed = overlays.review_overlay(
        overlays.ReviewOverlay(armed.overlay_id, "paul", team["paul"]), uow=container.uow()
    )
    assert (reviewed.state, reviewed.reviewed_by) == ("reviewed", "paul")
    lifted = overlays.lift_overlay(
        overlays.LiftOverlay(armed.overlay_id, "amy", "stress over"), uow=container.uow()
    )
    assert lifted.state == "lifted"
    assert _states(container, "B1") == ("disabled", "allowed")


def test_only_an_approved_playbook_can_be_armed(container: Container, team: dict[str, str]) -> None:
    draft = PLAYBOOK.replace("version: 1", "version: 2")
    overlays.submit_playbook(
        overlays.SubmitPlaybook(draft, by="ann"), uow=container.uow(), profiles=policies.profiles()
    )
    with pytest.raises(PlaybookNotApproved):
        overlays.arm_overlay(
            overlays.ArmOverlay("market-stress", "x", "amy", team["amy"], version=2),
            uow=container.uow(),
            profiles=policies.profiles(),
        )
