"""The policies API over HTTP: check, submit, publish, versions, diff, impact, explain."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import AddOperator, CreateToken, add_operator, create_token
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.resources import read_text

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings

Team = tuple[TestClient, dict[str, dict[str, str]]]

# The store holds the shipped policy as version 1 of its own name (the seed on start-up):
# these tests publish the same document under a name of their own, from its version 1.
TRIAL = "cn-credit-line-trial"
CN = read_text("policies/cn-default.yaml").replace(
    "name: cn-consumer-credit-line", f"name: {TRIAL}"
)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as http:
        yield http


def changed_cn() -> str:
    doc: dict[str, Any] = yaml.safe_load(CN)
    doc["version"] = 2
    doc["rows"][2]["then"]["manual"] = "allowed"  # failed-debits: no longer forced
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def test_check_reports_validity_and_every_problem(client: TestClient) -> None:
    ok = client.post("/v1/policies/check", json={"source": CN})
    assert ok.status_code == 200
    assert ok.json()["valid"] is True
    bad = client.post(
        "/v1/policies/check", json={"source": CN.replace("jurisdiction: CN", "jurisdiction: US")}
    )
    body = bad.json()
    assert body["valid"] is False
    assert {p["row_id"] for p in body["problems"]} == {
        "severe-delinquency",
        "high-risk",
        "elevated-risk-late",
    }
    assert all(p["counter_example"]["tier"] in ("T4", "T5") for p in body["problems"])
    assert client.get("/v1/policies/schema").json()["title"] == "repayguard policy"


def test_submit_refuses_an_invalid_policy_as_problem_json(client: TestClient) -> None:
    response = client.post("/v1/policies/drafts", json={"source": "rows: []\nname: x"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "policy_rejected"
    assert {p["field"] for p in body["extra"]["problems"]} >= {"owner", "rows"}


@pytest.fixture
def team(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[Team]:
    """The API with tokens required: an analyst (maker) and an approver (checker)."""
    settings = make_settings(database_url, tmp_path, auth="required")
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as built:
        headers = {}
        for name, role in (("ann", "analyst"), ("bob", "approver")):
            add_operator(AddOperator(name, role), uow=built.uow())
            secret = create_token(CreateToken("operator", name), uow=built.uow()).secret
            headers[name] = {"Authorization": f"Bearer {secret}"}
        with TestClient(create_app(built)) as http:
            yield http, headers


def test_a_draft_is_published_by_approval_and_read_back_as_a_version(team: Team) -> None:
    http, who = team

    def post(url: str, as_: str = "ann", **kw: Any) -> Any:
        return http.post(url, headers=who[as_], **kw)

    draft = post("/v1/policies/drafts", json={"source": CN})
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["draft_id"]
    assert draft.json()["submitted_by"].startswith("operator:"), "the token's operator"
    asked = post(f"/v1/policies/drafts/{draft_id}/publish", json={"reason": "first"})
    assert asked.status_code == 202, asked.text
    request_id = asked.json()["request_id"]
    mine = http.get("/v1/policies/versions", headers=who["ann"], params={"name": TRIAL})
    assert mine.json()["total"] == 0
    own = post(f"/v1/approvals/{request_id}/approve", json={})
    assert own.status_code == 403, "the analyst who asked cannot approve"
    approved = post(f"/v1/approvals/{request_id}/approve", "bob", json={"comment": "ok"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["outcome"]["version"] == 1
    again = post(f"/v1/policies/drafts/{draft_id}/publish", json={})
    assert again.status_code == 409
    assert again.json()["code"] == "policy_version_conflict"
    second = post("/v1/policies/drafts", json={"source": changed_cn()}).json()
    next_request = post(f"/v1/policies/drafts/{second['draft_id']}/publish", json={})
    post(f"/v1/approvals/{next_request.json()['request_id']}/approve", "bob", json={})

    def get(url: str, **kw: Any) -> Any:
        return http.get(url, headers=who["ann"], **kw)

    page = get("/v1/policies/versions", params={"name": TRIAL}).json()
    assert [v["version"] for v in page["items"]] == [2, 1]
    assert page["items"][1]["published_by"] == "ann, approved by bob"
    latest = get(f"/v1/policies/versions/{TRIAL}").json()
    assert latest["version"] == 2
    assert latest["document"]["version"] == "2"
    first = get(f"/v1/policies/versions/{TRIAL}/1").json()
    assert first["source"] == CN
    missing = get(f"/v1/policies/versions/{TRIAL}/9")
    assert missing.status_code == 404
    assert missing.json()["code"] == "policy_version_not_found"
    diff = post(
        "/v1/policies/diff",
        json={
            "before": {"name": TRIAL, "version": 1},
            "after": {"name": TRIAL},
        },
    ).json()
    assert diff["counts"]["changed"] == 1
    assert diff["rows"][0]["changes"][0] == {
        "field": "then.manual",
        "before": "forced",
        "after": "allowed",
    }


def test_impact_and_explain_over_http(client: TestClient) -> None:
    events = failing_debits_history("B-FAIL", NOW) + healthy_history("B-GOOD", NOW)
    assert client.post("/v1/events", json={"events": events}).status_code == 200
    impact = client.post("/v1/policies/impact", json={"candidate": {"source": changed_cn()}})
    assert impact.status_code == 200, impact.text
    body = impact.json()
    assert (body["borrowers"], body["changed"]) == (2, 1)
    assert body["transitions"] == [
        {
            "method": "manual",
            "from": "forced",
            "to": "allowed",
            "direction": "loosen",
            "borrowers": 1,
        }
    ]
    trace = client.post(
        "/v1/policies/explain",
        json={"policy": {"source": CN}, "inputs": {"tier": "T5", "dpd_now": 45}},
    ).json()
    assert trace["outcome"]["rule_id"] == "severe-delinquency"
    assert trace["rows"][0]["cells"][0]["verdict"] == "no match"
    refused = client.post(
        "/v1/policies/explain", json={"policy": {"source": CN}, "inputs": {"dpd_now": "x"}}
    )
    assert refused.status_code == 422
    assert refused.json()["code"] == "policy_inputs_invalid"
    two_forms = client.post(
        "/v1/policies/explain", json={"policy": {"source": CN, "name": "x"}, "inputs": {}}
    )
    assert two_forms.status_code == 422


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("GET", f"/v1/policies/versions?offset={2**63}", None),
        ("GET", f"/v1/policies/versions/{TRIAL}/{2**31}", None),
        ("GET", f"/v1/policies/versions/{TRIAL}/{-(2**31) - 1}", None),
        (
            "POST",
            "/v1/policies/diff",
            {"before": {"source": CN}, "after": {"name": "x", "version": 2**31}},
        ),
    ],
)
def test_a_number_beyond_the_databases_integers_is_an_invalid_request(
    client: TestClient, method: str, url: str, body: dict[str, Any] | None
) -> None:
    """Offsets are 64-bit in SQL, version numbers 32-bit in PostgreSQL: a larger number is
    refused before any query (it overflowed there, a 500)."""
    response = client.request(method, url, json=body)
    assert (response.status_code, response.json()["code"]) == (422, "invalid_request")


def test_the_largest_numbers_the_database_holds_are_looked_up(client: TestClient) -> None:
    far = client.get(f"/v1/policies/versions?offset={2**63 - 1}")
    last = client.get(f"/v1/policies/versions/{TRIAL}/{2**31 - 1}")
    assert (far.status_code, far.json()["items"]) == (200, [])
    assert (last.status_code, last.json()["code"]) == (404, "policy_version_not_found")
