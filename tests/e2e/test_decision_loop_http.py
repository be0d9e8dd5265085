"""The whole loop over HTTP: events in → online decision → entitlement → authorize."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import APPROVAL_POLICY
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as http:
        yield http


def test_three_failed_debits_in_30_days_disable_auto_debit_and_authorize_says_no(
    client: TestClient,
) -> None:
    events = failing_debits_history("B-FAIL", NOW) + healthy_history("B-GOOD", NOW)

    ingested = client.post("/v1/events", json={"events": events})

    assert ingested.status_code == 200, ingested.text
    assert ingested.json()["accepted"] == len(events)

    methods = client.get("/v1/borrowers/B-FAIL/repayment-methods").json()
    assert methods["methods"]["auto_debit"] == "disabled"
    # Auto-debit stopped and the manual flow forced through the free channels only.
    assert methods["methods"]["manual"] == "forced"
    assert methods["methods"]["manual_channels"] == ["app_balance", "bank_card", "counter"]
    assert "REPEATED_FAILED_DEBITS" in [r["code"] for r in methods["reasons"]]

    denied = client.post("/v1/authorize", json={"borrower_id": "B-FAIL", "method": "auto_debit"})
    body = denied.json()
    assert denied.status_code == 200
    assert body["allowed"] is False
    assert body["decision_id"] == methods["decision_id"]
    assert "REPEATED_FAILED_DEBITS" in [r["code"] for r in body["reasons"]]
    assert all(r["text"] for r in body["reasons"])
    assert {a["method"] for a in body["alternatives"]} == {"manual"}
    assert {a["channel"] for a in body["alternatives"]} == set(
        methods["methods"]["manual_channels"]
    )

    manual = client.post(
        "/v1/authorize",
        json={
            "borrower_id": "B-FAIL",
            "method": "manual",
            "channel": methods["methods"]["manual_channels"][0],
            "amount": 500,
        },
    )
    assert manual.json()["allowed"] is True
    paid = client.post(
        "/v1/authorize",
        json={"borrower_id": "B-FAIL", "method": "manual", "channel": "bank_transfer"},
    ).json()
    # A declared channel this borrower may not use now: a denial explained like any other
    # (CHANNEL_NOT_OFFERED once had no text and authorize answered 500).
    assert (paid["allowed"], paid["reasons"][0]["code"]) == (False, "CHANNEL_NOT_OFFERED")
    assert paid["reasons"][0]["text"]
    assert {a["channel"] for a in paid["alternatives"]} == {"app_balance", "bank_card", "counter"}

    healthy = client.post("/v1/authorize", json={"borrower_id": "B-GOOD", "method": "auto_debit"})
    assert healthy.json()["allowed"] is True


def test_reasons_come_in_the_borrowers_language(client: TestClient) -> None:
    client.post("/v1/events", json={"events": failing_debits_history("B-ZH", NOW)})

    zh = client.get(
        "/v1/borrowers/B-ZH/repayment-methods", headers={"Accept-Language": "zh-CN"}
    ).json()
    en = client.get("/v1/borrowers/B-ZH/repayment-methods").json()

    assert [r["code"] for r in zh["reasons"]] == [r["code"] for r in en["reasons"]]
    assert zh["reasons"][0]["text"] != en["reasons"][0]["text"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh["reasons"][0]["text"])


def test_an_unknown_borrower_has_a_clear_404(client: TestClient) -> None:
    response = client.get("/v1/borrowers/NOBODY/repayment-methods")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "borrower_not_found"


def test_a_borrower_not_yet_assessed_gets_the_default_terms(client: TestClient) -> None:
    body = client.post("/v1/authorize", json={"borrower_id": "NEW-1", "method": "manual"}).json()
    assert body["allowed"] is True
    assert body["decision_id"] is None


def test_a_manual_channel_the_policy_does_not_declare_is_refused_naming_the_declared_ones(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    """The policy declares app_balance and bank_card only; asking for the counter is a caller
    error (the channel catalogue is the policy's), with the channels to use instead."""
    policy = tmp_path / "policy.yaml"
    policy.write_text(APPROVAL_POLICY)
    settings = make_settings(database_url, tmp_path, policy_path=policy)
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        client = TestClient(create_app(container))
        ask = {"borrower_id": "NEW-2", "method": "manual", "channel": "counter"}

        response = client.post("/v1/authorize", json=ask, headers={"Accept-Language": "zh-CN"})

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "channel_not_declared"
    assert "app_balance, bank_card" in problem["hint"]


def test_a_batch_over_10000_events_is_refused_whole(client: TestClient) -> None:
    response = client.post("/v1/events", json={"events": [{}] * 10_001})
    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"


def test_a_malformed_request_is_a_problem_document(client: TestClient) -> None:
    response = client.post("/v1/authorize", json={"borrower_id": "B1", "method": "cheque"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.method"
