"""Maker-checker over HTTP: the caller's token is the maker or the checker, nobody approves
their own request, refusals are problem+json with stable codes, routine decisions go in bulk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import APPROVAL_POLICY, Api, make_team, override, team_tokens
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings


@pytest.fixture
def api(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[Api, Container]]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(APPROVAL_POLICY)
    settings = make_settings(
        f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required", policy_path=policy
    )
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        team = make_team(container)
        tokens = team_tokens(container, team)
        with TestClient(create_app(container)) as http:
            yield Api(http, tokens), container


def test_an_override_is_asked_by_an_agent_and_applied_by_an_approver(
    api: tuple[Api, Container],
) -> None:
    http, container = api
    ingest_events(
        IngestEvents(healthy_history("B1", NOW), source="t"),
        uow=container.uow(),
        setup=container.ingest,
    )
    body = {
        "kind": "override",
        "payload": override(
            "B1", auto_debit="disabled", days=7, manual_channels=["app_balance", "bank_card"]
        ),
        "reason": "customer asked",
    }
    made = http.post("cara", "/v1/approvals", body)
    assert made.status_code == 201, made.text
    request = made.json()
    assert (request["state"], request["maker_name"], request["subject"]) == (
        "pending",
        "cara",
        "B1",
    )
    checker_only = http.post("pat", "/v1/approvals", body)
    assert (checker_only.status_code, checker_only.json()["code"]) == (403, "permission_denied")
    assert http.post("cara", "/v1/approvals", body).json()["code"] == "pending_approval_exists"
    own = http.post("cara", f"/v1/approvals/{request['request_id']}/approve")
    assert own.status_code == 403

    done = http.post("pat", f"/v1/approvals/{request['request_id']}/approve", {"comment": "ok"})

    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["checker_name"]) == ("approved", "pat")
    methods = http.get("cara", "/v1/borrowers/B1/repayment-methods").json()
    assert (methods["rule_id"], methods["methods"]["auto_debit"]) == ("manual-override", "disabled")
    assert methods["reasons"][0]["code"] == "MANUAL_OVERRIDE"
    shown = http.get("aud", f"/v1/approvals/{request['request_id']}").json()
    assert shown["payload"]["states"]["auto_debit"] == "disabled"
    assert shown["outcome"]["borrower_id"] == "B1"
    queue = http.get("aud", "/v1/approvals", state="all", kind="override").json()
    assert [r["request_id"] for r in queue["items"]] == [request["request_id"]]


def test_an_admin_never_approves_own_request_and_refusals_have_stable_codes(
    api: tuple[Api, Container], clock: FixedClock
) -> None:
    http, _ = api
    review = {
        "kind": "emergency_review",
        "payload": {
            "action_id": "E-7",
            "action": "tighten-t4",
            "taken_at": (NOW - timedelta(hours=1)).isoformat(),
            "description": "market alarm: T4 auto-debit mandatory for 24 hours",
        },
        "expires_in_hours": 1,
    }
    made = http.post("amy", "/v1/approvals", review).json()
    rid = made["request_id"]
    assert made["payload"]["taken_by"] == "amy"
    self_approval = http.post("amy", f"/v1/approvals/{rid}/approve")
    assert (self_approval.status_code, self_approval.json()["code"]) == (
        403,
        "maker_cannot_approve",
    )
    assert self_approval.headers["content-type"] == "application/problem+json"
    no_comment = http.post("adam", f"/v1/approvals/{rid}/reject", {"comment": ""})
    assert (no_comment.status_code, no_comment.json()["code"]) == (422, "invalid_request")
    not_theirs = http.post("ann", f"/v1/approvals/{rid}/withdraw")
    assert (not_theirs.status_code, not_theirs.json()["code"]) == (403, "approval_not_yours")
    bad = http.post("ann", "/v1/approvals", {**review, "payload": {"action_id": "E-8"}})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_request")
    clock.advance(timedelta(hours=2))
    late = http.post("adam", f"/v1/approvals/{rid}/approve")
    assert (late.status_code, late.json()["code"]) == (409, "approval_expired")
    missing = http.post("adam", "/v1/approvals/nope/approve")
    assert (missing.status_code, missing.json()["code"]) == (404, "approval_not_found")


def test_routine_decisions_are_approved_in_bulk_and_only_decisions(
    api: tuple[Api, Container], clock: FixedClock
) -> None:
    http, container = api
    borrowers = ("B1", "B2", "B3")
    events = [e for b in borrowers for e in healthy_history(b, NOW)]
    ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)
    tails = [e for b in borrowers for e in failing_debits_history(b, NOW)[-4:]]
    ingest_events(IngestEvents(tails, source="t"), uow=container.uow(), setup=container.ingest)
    queue = http.get("pat", "/v1/approvals", kind="decision").json()
    assert sorted(r["subject"] for r in queue["items"]) == list(borrowers)
    assert all(r["maker_id"] is None for r in queue["items"]), "held by repayguard itself"
    unfiltered = http.post("pat", "/v1/approvals/bulk-approve", {"comment": "ok"})
    assert unfiltered.status_code == 422, "the kind is said explicitly"
    not_routine = http.post(
        "pat", "/v1/approvals/bulk-approve", {"kind": "override", "comment": "ok"}
    )
    assert not_routine.status_code == 422
    analyst = http.post("ann", "/v1/approvals/bulk-approve", {"kind": "decision", "comment": "x"})
    assert analyst.status_code == 403
    clock.advance(timedelta(minutes=5))

    done = http.post(
        "pat",
        "/v1/approvals/bulk-approve",
        {"kind": "decision", "category": "needs-approval", "comment": "routine", "limit": 2},
    )

    assert done.status_code == 200, done.text
    approved = done.json()["approved"]
    assert (len(approved), done.json()["refused"]) == (2, [])
    assert {a["checker_name"] for a in approved} == {"pat"}
    for a in approved:
        methods = http.get("pat", f"/v1/borrowers/{a['subject']}/repayment-methods").json()
        assert methods["pending"]["states"]["early_repayment"] == "restricted"
        assert methods["decision_id"] == a["payload"]["decision_id"]
    assert http.get("pat", "/v1/approvals", kind="decision").json()["total"] == 1


def test_without_an_operator_token_nobody_can_make_or_decide_requests(
    tmp_path: Path, clock: FixedClock
) -> None:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="off")
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as container:
        http = TestClient(create_app(container))
        for url in ("/v1/policies/drafts/d1/publish", "/v1/approvals/x/approve"):
            refused = http.post(url, json={})
            assert (refused.status_code, refused.json()["code"]) == (401, "operator_required")
        assert http.get("/v1/approvals").status_code == 200, "reading the queue needs no actor"


@pytest.mark.parametrize("cut_off", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_a_bulk_cut_off_outside_the_calendar_in_utc_is_invalid_input(
    api: tuple[Api, Container], cut_off: str
) -> None:
    http, _ = api
    body = {"kind": "decision", "comment": "routine", "created_before": cut_off}

    refused = http.post("pat", "/v1/approvals/bulk-approve", body)

    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input")


def test_a_queue_offset_beyond_a_64_bit_integer_is_an_invalid_request(
    api: tuple[Api, Container],
) -> None:
    http, _ = api
    refused = http.get("pat", "/v1/approvals", offset=2**63)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_request")
    assert http.get("pat", "/v1/approvals", offset=2**63 - 1).json()["items"] == []
