"""Complaints over HTTP: a borrower files against their own decisions only, an agent reviews the
case with the decision's lineage and explanation and reverses it, an approver approves, the
borrower reads the outcome — refusals are problem+json with stable codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import CreateToken, create_token
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import Api, make_team, team_tokens
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.complaints import STATEMENT


@pytest.fixture
def api(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[Api, Container]]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
        ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)
        team = make_team(container)
        tokens = team_tokens(container, team)
        for borrower in ("B1", "B2"):
            tokens[borrower] = create_token(
                CreateToken("borrower", borrower), uow=container.uow()
            ).secret
        with TestClient(create_app(container)) as http:
            yield Api(http, tokens), container


def test_a_borrower_files_an_agent_reverses_an_approver_approves(
    api: tuple[Api, Container],
) -> None:
    http, _ = api
    body = {"contested": ["auto_debit"], "statement": STATEMENT}
    assert http.post("B1", "/v1/borrowers/B2/complaints", body).status_code == 403
    theirs = http.get("aud", "/v1/complaints").json()
    assert theirs["total"] == 0
    b2_decision = http.get("cara", "/v1/borrowers/B2/repayment-methods").json()["decision_id"]
    foreign = http.post("B1", "/v1/borrowers/B1/complaints", {**body, "decision_id": b2_decision})
    assert (foreign.status_code, foreign.json()["code"]) == (404, "decision_not_found")

    filed = http.post("B1", "/v1/borrowers/B1/complaints", body)

    assert filed.status_code == 201, filed.text
    case = filed.json()
    (received,) = case["notices"]
    assert (case["status"], case["filed_by"], received["kind"]) == (
        "open",
        "borrower",
        "complaint_received",
    )
    assert [(d["channel"], d["status"]) for d in received["deliveries"]] == [("inbox", "delivered")]
    inbox = http.get("B1", "/v1/borrowers/B1/notices", kind="complaint_received").json()
    assert [n["notice_id"] for n in inbox["notices"]] == [received["notice_id"]]
    assert inbox["notices"][0]["occasion_id"] == case["complaint_id"]
    assert http.get("B1", "/v1/borrowers/B2/notices").status_code == 403
    again = http.post("B1", "/v1/borrowers/B1/complaints", body)
    assert (again.status_code, again.json()["code"]) == (409, "complaint_already_open")
    queue = http.get("cara", "/v1/complaints", status="open").json()
    assert [c["complaint_id"] for c in queue["items"]] == [case["complaint_id"]]
    assert http.get("B1", f"/v1/complaints/{case['complaint_id']}").status_code == 403

    shown = http.get("cara", f"/v1/complaints/{case['complaint_id']}", locale="zh-CN").json()

    assert shown["statement"] == STATEMENT
    decision = shown["decision"]
    assert decision["decision_id"] == case["decision_id"]
    assert (decision["rule_id"], decision["model_version"], decision["policy_version"]) == (
        "failed-debits",
        "expert-v1",
        "1",
    )
    assert len(decision["policy_hash"]) == 64
    assert decision["inputs"]["failed_debits_30d"] == 3
    reason = decision["reasons"][0]
    assert (reason["code"], reason["text"]) == (
        "REPEATED_FAILED_DEBITS",
        reason["texts"]["zh-CN"],
    )
    assert "fees" in reason["texts"]["en"]
    explanation = decision["explanation"]
    assert explanation["outcome"]["rule_id"] == "failed-debits"
    assert [r["status"] for r in explanation["rows"] if r["row_id"] == "failed-debits"] == [
        "decided"
    ]
    assert shown["current"]["rule_id"] == "appeal-freeze"
    uphold_as_borrower = http.post("B1", f"/v1/complaints/{case['complaint_id']}/resolve")
    assert uphold_as_borrower.status_code == 403
    resolve = {"outcome": "reverse", "comment": "the bank replaced the card"}
    asked = http.post("cara", f"/v1/complaints/{case['complaint_id']}/resolve", resolve).json()
    assert asked["status"] == "reversal_pending"
    own = http.post("cara", f"/v1/approvals/{asked['approval_id']}/approve", {"comment": "ok"})
    assert (own.status_code, own.json()["code"]) == (403, "permission_denied")

    done = http.post("pat", f"/v1/approvals/{asked['approval_id']}/approve", {"comment": "ok"})

    assert done.status_code == 200, done.text
    mine = http.get("B1", "/v1/borrowers/B1/complaints").json()["complaints"]
    assert [(c["status"], c["comment"]) for c in mine] == [("reversed", None)]
    told = mine[0]["notices"]
    assert [x["kind"] for x in told] == [
        "complaint_received",
        "complaint_resolved",
        "remedy_apology",
    ]
    remedied = http.get("cara", f"/v1/complaints/{case['complaint_id']}/remedies").json()
    assert [(r["kind"], r["state"]) for r in remedied["remedies"]] == [("apology", "approved")]
    assert http.get("B1", f"/v1/complaints/{case['complaint_id']}/remedies").status_code == 403
    assert "replaced the card" not in str(told), "never the agent's comment"
    assert all(d["last_error"] is None for x in told for d in x["deliveries"])
    kinds = {n["kind"] for n in http.get("B1", "/v1/borrowers/B1/notices").json()["notices"]}
    assert {"complaint_received", "complaint_resolved"} <= kinds
    assert http.get("B1", "/v1/borrowers/B2/complaints").status_code == 403
    methods = http.get("B1", "/v1/borrowers/B1/repayment-methods").json()
    assert methods["methods"]["auto_debit"] == "optional"
    closed = http.get("aud", "/v1/complaints", status="closed").json()["items"]
    assert [(c["status"], c["comment"]) for c in closed] == [
        ("reversed", "the bank replaced the card")
    ]


def test_a_queue_offset_beyond_a_64_bit_integer_is_an_invalid_request(
    api: tuple[Api, Container],
) -> None:
    http, _ = api
    refused = http.get("cara", "/v1/complaints", offset=2**63)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_request")
    assert http.get("cara", "/v1/complaints", offset=2**63 - 1).json()["items"] == []
