"""Hardship over HTTP and in the console: a borrower opens a case for themselves only, an agent
opens one for a borrower and may not decide it, a second agent reads the evidence and closes it
— refusals are problem+json with stable codes; the console's pages do the same through forms."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

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
from support.console import csrf_of, logged_in
from support.hardship import EVIDENCE


@pytest.fixture
def served(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[Api, Container, TestClient]]:
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
            yield Api(http, tokens), container, http


def test_a_borrower_opens_their_own_case_and_an_agent_who_did_not_open_it_closes_it(
    served: tuple[Api, Container, TestClient],
) -> None:
    api, _, _ = served
    body = {"reason": "job_loss", "evidence": EVIDENCE}
    assert api.post("B1", "/v1/borrowers/B2/hardship", body).status_code == 403
    assert api.get("B1", "/v1/hardship").status_code == 403
    bad = api.post("B1", "/v1/borrowers/B1/hardship", {**body, "reason": "lottery"})
    assert bad.status_code == 422

    opened = api.post("B1", "/v1/borrowers/B1/hardship", body)

    assert opened.status_code == 201, opened.text
    case = opened.json()
    assert (case["status"], case["opened_by"], case["reason"]) == ("open", "borrower", "job_loss")
    assert [n["kind"] for n in case["notices"]] == ["hardship_opened"]
    twice = api.post("B1", "/v1/borrowers/B1/hardship", body)
    assert (twice.status_code, twice.json()["code"]) == (409, "hardship_case_already_open")
    mine = api.get("B1", "/v1/borrowers/B1/hardship").json()["cases"]
    assert [c["case_id"] for c in mine] == [case["case_id"]]
    assert api.get("B1", f"/v1/hardship/{case['case_id']}").status_code == 403
    close = {"outcome": "granted", "note": "letter seen"}
    assert api.post("B1", f"/v1/hardship/{case['case_id']}/close", close).status_code == 403
    assert api.get("ann", "/v1/hardship").status_code == 403, "analysts do not read cases"
    (queued,) = api.get("aud", "/v1/hardship").json()["items"]
    assert queued["case_id"] == case["case_id"]
    shown = api.get("aud", f"/v1/hardship/{case['case_id']}").json()
    assert shown["evidence"] == EVIDENCE
    assert shown["methods_now"] is not None
    assert api.post("aud", f"/v1/hardship/{case['case_id']}/close", close).status_code == 403

    done = api.post("cara", f"/v1/hardship/{case['case_id']}/close", close)

    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["reviewer_name"]) == ("granted", "cara")
    inbox = api.get("B1", "/v1/borrowers/B1/notices", kind="hardship_closed").json()
    assert inbox["notices"][0]["subject"] == "您的困难援助申请已获批准"

    by_agent = api.post("cara", "/v1/borrowers/B2/hardship", {**body, "reason": "illness"})
    assert by_agent.status_code == 201, by_agent.text
    theirs = by_agent.json()
    assert theirs["opened_by"].startswith("operator:")
    own = api.post("cara", f"/v1/hardship/{theirs['case_id']}/close", close)
    assert (own.status_code, own.json()["code"]) == (403, "hardship_reviewer_not_allowed")
    declined = api.post(
        "carl", f"/v1/hardship/{theirs['case_id']}/close", {**close, "outcome": "declined"}
    )
    assert declined.json()["status"] == "declined"


def test_agents_open_and_close_a_case_in_the_console(
    served: tuple[Api, Container, TestClient],
) -> None:
    _, container, http = served
    app = http.app
    cara = logged_in(app, container, "cara")  # type: ignore[arg-type]
    queue = cara.get("/console/hardship")
    assert queue.status_code == 200
    assert "No open hardship cases" in queue.text
    sent = cara.post(
        "/console/hardship",
        data={
            "csrf": csrf_of(queue),
            "borrower_id": "B1",
            "reason": "illness",
            "evidence": "In hospital since <March>",
        },
    )
    assert sent.status_code == 303, sent.text
    landing = sent.headers["location"]
    case_url = landing.split("?")[0]
    assert "is open for B1" in unquote(landing)
    page = cara.get(case_url)
    assert "In hospital since &lt;March&gt;" in page.text, "escaped"
    assert 'value="granted"' not in page.text, "the opener may not grant it"
    assert "Hardship" in cara.get("/console/hardship").text
    assert re.search(r"Illness", cara.get("/console/hardship").text)

    carl = logged_in(app, container, "carl")  # type: ignore[arg-type]
    review = carl.get(case_url)
    assert 'value="granted"' in review.text
    closed = carl.post(
        f"{case_url}/close",
        data={"csrf": csrf_of(review), "outcome": "granted", "note": "discharge letter"},
    )
    assert closed.status_code == 303, closed.text
    assert "Granted: case" in unquote(closed.headers["location"])
    after = carl.get(case_url)
    assert "discharge letter" in after.text
    assert "hardship closed" in after.text, "the notice the borrower was sent"

    aud = logged_in(app, container, "aud")  # type: ignore[arg-type]
    assert "Open a case for a borrower" not in aud.get("/console/hardship").text
    assert aud.get("/console/hardship?status=closed").status_code == 200
