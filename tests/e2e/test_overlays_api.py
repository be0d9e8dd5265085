"""Playbooks and overlays over HTTP: submit, approve through ``/v1/approvals``, arm, review by a
second person only, lift; refusals are problem+json with stable codes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.bootstrap import bootstrap
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.resources import read_text

from support.approvals import Api, make_team, team_tokens
from support.builders import failing_debits_history
from support.common import NOW, make_settings


@pytest.fixture
def api(tmp_path: Path, clock: FixedClock) -> Iterator[Api]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    with bootstrap(
        settings, clock=clock, bus=RecordingBus(), migrate=True, serve_view=True
    ) as container:
        ingest_events(
            IngestEvents(failing_debits_history("B1", NOW), source="t"),
            uow=container.uow(),
            setup=container.ingest,
        )
        tokens = team_tokens(container, make_team(container))
        with TestClient(create_app(container)) as http:
            yield Api(http, tokens)


def test_a_playbook_goes_from_draft_to_an_armed_reviewed_and_lifted_overlay(api: Api) -> None:
    bad = api.post("ann", "/v1/playbooks", {"document": "name: x\nversion: 1\n"})
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "playbook_refused"
    stored = api.post(
        "ann", "/v1/playbooks", {"document": read_text("playbooks/market-stress.yaml")}
    )
    assert stored.status_code == 201, stored.text
    early = api.post("ann", "/v1/overlays", {"playbook": "market-stress", "reason": "stress"})
    assert early.json()["code"] == "playbook_not_approved"
    asked = api.post(
        "amy",
        "/v1/approvals",
        {"kind": "playbook_approve", "payload": {"name": "market-stress", "version": 1}},
    )
    assert asked.status_code == 201, asked.text
    done = api.post("pat", f"/v1/approvals/{asked.json()['request_id']}/approve", {})
    assert done.status_code == 200, done.text

    assert (
        api.post("pat", "/v1/overlays", {"playbook": "market-stress", "reason": "x"}).status_code
        == 403
    )
    armed = api.post("ann", "/v1/overlays", {"playbook": "market-stress", "reason": "stress"})
    assert armed.status_code == 201, armed.text
    overlay_id = armed.json()["overlay_id"]
    own = api.post("amy", f"/v1/overlays/{overlay_id}/review")
    assert own.status_code == 200, "amy did not arm it"
    again = api.post("paul", f"/v1/overlays/{overlay_id}/review")
    assert again.json()["code"] == "overlay_not_active"
    lifted = api.post("ann", f"/v1/overlays/{overlay_id}/lift", {"reason": "over"})
    assert (lifted.status_code, lifted.json()["state"]) == (200, "lifted")
    listed = api.http.get("/v1/overlays", headers={"Authorization": f"Bearer {api.tokens['aud']}"})
    assert [o["state"] for o in listed.json()] == ["lifted"]


def test_whoever_armed_it_cannot_review_it_over_http(api: Api) -> None:
    api.post("amy", "/v1/playbooks", {"document": read_text("playbooks/market-stress.yaml")})
    asked = api.post(
        "amy",
        "/v1/approvals",
        {"kind": "playbook_approve", "payload": {"name": "market-stress", "version": 1}},
    )
    api.post("pat", f"/v1/approvals/{asked.json()['request_id']}/approve", {})
    armed = api.post("amy", "/v1/overlays", {"playbook": "market-stress", "reason": "stress"})
    refused = api.post("amy", f"/v1/overlays/{armed.json()['overlay_id']}/review")
    assert (refused.status_code, refused.json()["code"]) == (403, "overlay_reviewer_not_allowed")
