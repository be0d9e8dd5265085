"""Incidents over HTTP and in the console: the list and one incident with its evidence for
readers, acknowledge and resolve for those who manage incidents (as the calling operator),
refusals with their codes, and the console's pages with the evidence chart's data."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import CreateToken, create_token
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import make_team
from support.common import NOW, make_settings
from support.console import logged_in
from support.incidents import open_stepped_incident

LAST_DAY = NOW.date() - timedelta(days=1)


@pytest.fixture
def site(database_url: str, tmp_path: Path) -> Iterator[tuple[Container, str]]:
    settings = make_settings(database_url, tmp_path, auth="required")
    with bootstrap(settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True) as built:
        make_team(built)
        found = open_stepped_incident(built.uow(), last_day=LAST_DAY)
        yield built, found.incident_id


def _as(container: Container, username: str) -> TestClient:
    secret = create_token(CreateToken("operator", username), uow=container.uow()).secret
    return TestClient(create_app(container), headers={"Authorization": f"Bearer {secret}"})


def test_readers_list_and_read_an_incident_with_its_evidence(site: tuple[Container, str]) -> None:
    container, incident_id = site
    auditor = _as(container, "aud")
    listed = auditor.get("/v1/incidents")
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert (item["incident_id"], item["metric"], item["state"]) == (
        incident_id, "overdue_rate_1p", "open",
    )  # fmt: skip
    assert "evidence" not in item
    one = auditor.get(f"/v1/incidents/{incident_id}")
    assert one.status_code == 200, one.text
    body = one.json()
    assert len(body["evidence"]) == 150
    assert body["evidence"][0]["up"] is None  # warm-up
    assert body["evidence"][-1]["alarm"] is True
    assert auditor.get("/v1/incidents", params={"state": "resolved"}).json()["total"] == 0
    missing = auditor.get("/v1/incidents/nope")
    assert (missing.status_code, missing.json()["code"]) == (404, "incident_not_found")


def test_managers_acknowledge_and_resolve_and_others_are_refused(
    site: tuple[Container, str],
) -> None:
    container, incident_id = site
    refused = _as(container, "aud").post(f"/v1/incidents/{incident_id}/acknowledge", json={})
    assert refused.status_code == 403
    analyst = _as(container, "ann")
    acked = analyst.post(f"/v1/incidents/{incident_id}/acknowledge", json={"note": "on it"})
    assert acked.status_code == 200, acked.text
    assert (acked.json()["state"], acked.json()["acknowledged_by"]) == ("acknowledged", "ann")
    again = analyst.post(f"/v1/incidents/{incident_id}/acknowledge", json={})
    assert (again.status_code, again.json()["code"]) == (409, "incident_state_invalid")
    empty = analyst.post(f"/v1/incidents/{incident_id}/resolve", json={"note": ""})
    assert empty.status_code == 422
    done = _as(container, "amy").post(
        f"/v1/incidents/{incident_id}/resolve", json={"note": "a backlog in collections"}
    )
    assert done.status_code == 200, done.text
    assert (done.json()["state"], done.json()["resolved_by"]) == ("resolved", "amy")
    assert analyst.get("/v1/incidents").json()["total"] == 0


def test_the_console_lists_incidents_and_draws_the_evidence(site: tuple[Container, str]) -> None:
    container, incident_id = site
    browser = logged_in(create_app(container), container, "ann")
    listing = browser.get("/console/incidents")
    assert listing.status_code == 200, listing.text
    assert f'href="/console/incidents/{incident_id}"' in listing.text
    assert 'href="/console/incidents"' in listing.text, "the navigation links the page"
    one = browser.get(f"/console/incidents/{incident_id}")
    assert one.status_code == 200, one.text
    text = html.unescape(one.text)
    assert 'Plotly.newPlot("evidence"' in text
    assert '"name": "upper limit"' in text or '"name":"upper limit"' in text
    assert "charted through " + LAST_DAY.isoformat() in text
    cs_agent = logged_in(create_app(container), container, "cara")
    assert cs_agent.get("/console/incidents").status_code in (303, 403)
