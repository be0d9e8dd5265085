"""The policies API over HTTP: check, submit, publish, versions, diff, impact, explain."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.bootstrap import Container
from repayguard.resources import read_text

from builders import failing_debits_history, healthy_history
from conftest import NOW

CN = read_text("policies/cn-default.yaml")


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as http:
        yield http


def changed_cn() -> str:
    doc: dict[str, Any] = yaml.safe_load(CN)
    doc["version"] = 2
    doc["rows"][2]["then"]["manual"] = "forced"
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


def test_a_draft_is_published_and_read_back_as_a_version(client: TestClient) -> None:
    draft = client.post("/v1/policies/drafts", json={"source": CN, "submitted_by": "ann"})
    assert draft.status_code == 201, draft.text
    draft_id = draft.json()["draft_id"]
    assert client.get(f"/v1/policies/drafts/{draft_id}").json()["submitted_by"] == "ann"
    published = client.post(f"/v1/policies/drafts/{draft_id}/publish", json={"published_by": "bob"})
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 1
    again = client.post(f"/v1/policies/drafts/{draft_id}/publish", json={})
    assert again.status_code == 409
    assert again.json()["code"] == "policy_version_conflict"
    second = client.post("/v1/policies/drafts", json={"source": changed_cn()}).json()
    client.post(f"/v1/policies/drafts/{second['draft_id']}/publish", json={})
    page = client.get("/v1/policies/versions", params={"name": "cn-consumer-credit-line"}).json()
    assert [v["version"] for v in page["items"]] == [2, 1]
    assert page["items"][1]["published_by"] == "bob"
    latest = client.get("/v1/policies/versions/cn-consumer-credit-line").json()
    assert latest["version"] == 2
    assert latest["document"]["version"] == "2"
    first = client.get("/v1/policies/versions/cn-consumer-credit-line/1").json()
    assert first["source"] == CN
    missing = client.get("/v1/policies/versions/cn-consumer-credit-line/9")
    assert missing.status_code == 404
    assert missing.json()["code"] == "policy_version_not_found"
    diff = client.post(
        "/v1/policies/diff",
        json={
            "before": {"name": "cn-consumer-credit-line", "version": 1},
            "after": {"name": "cn-consumer-credit-line"},
        },
    ).json()
    assert diff["counts"]["changed"] == 1
    assert diff["rows"][0]["changes"][0] == {
        "field": "then.manual",
        "before": "allowed",
        "after": "forced",
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
            "from": "allowed",
            "to": "forced",
            "direction": "tighten",
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
