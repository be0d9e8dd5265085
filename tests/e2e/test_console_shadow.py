"""The console's shadow page and the shadow API over HTTP, with access control on: the counts
and borrowers behind the challenger's disagreements, shown only to those who read policies."""

from __future__ import annotations

import html
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from repayguard import policies, resources, shadow
from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.borrowers import SaveProfile, save_profile
from repayguard.decisions import DEFAULT_POLICY, DecideBorrowers, decide_borrowers, triggers
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import make_team, team_tokens
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings
from support.console import logged_in


@pytest.fixture
def shadowed(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> Iterator[tuple[Container, dict[str, str]]]:
    """Three borrowers decided with a challenger that keeps auto-debit for B1 and B2."""
    settings = make_settings(database_url, tmp_path, auth="required")
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        team = make_team(built)
        events = (
            failing_debits_history("B1", NOW)
            + failing_debits_history("B2", NOW)
            + healthy_history("B3", NOW)
        )
        ingest_events(IngestEvents(events, source="test"), uow=built.uow(), setup=built.ingest)
        lenient = (
            resources.read_text(DEFAULT_POLICY)
            .replace("name: cn-consumer-credit-line", "name: lenient")
            .replace('failed_debits_30d: ">= 3"', 'failed_debits_30d: ">= 4"')
        )
        draft = policies.submit_policy(
            policies.SubmitPolicy(lenient, submitted_by="ann"),
            uow=built.uow(),
            profiles=policies.profiles(),
        )
        shadow.set_challenger(
            shadow.SetChallenger(policies.DraftRef(draft.draft_id), actor="amy"),
            uow=built.uow(),
            profiles=policies.profiles(),
        )
        decide_borrowers(
            DecideBorrowers(trigger=triggers.CLI),
            uow=built.uow(),
            engine=built.decision_engine,
            history_days=built.settings.decisions.history_days,
        )
        yield built, team_tokens(built, team)


def test_the_shadow_page_shows_the_disagreements_and_who_is_behind_them(
    shadowed: tuple[Container, dict[str, str]],
) -> None:
    container, _ = shadowed
    browser = logged_in(create_app(container), container, "ann")

    page = browser.get("/console/shadow")

    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert '<b id="differing">2</b> of <b id="compared">3</b>' in text
    assert 'href="/console/borrowers/B1"' in text
    assert 'href="/console/borrowers/B2"' in text
    assert 'href="/console/borrowers/B3"' not in text
    assert 'href="/console/shadow"' in text, "the navigation links the page"


def test_the_shadow_page_is_closed_to_those_who_cannot_read_policies(
    shadowed: tuple[Container, dict[str, str]],
) -> None:
    container, _ = shadowed
    browser = logged_in(create_app(container), container, "cara")

    assert browser.get("/console/shadow").status_code == 403
    assert 'href="/console/shadow"' not in browser.get("/console/").text


def test_the_shadow_api_counts_and_lists_disagreements(
    shadowed: tuple[Container, dict[str, str]],
) -> None:
    container, tokens = shadowed
    api = TestClient(create_app(container))
    headers = {"Authorization": f"Bearer {tokens['ann']}"}

    summary = api.get("/v1/shadow/summary", headers=headers).json()
    listed = api.get("/v1/shadow/disagreements", headers=headers).json()["disagreements"]

    assert (summary["compared"], summary["differing"], summary["borrowers"]) == (3, 2, 2)
    assert summary["challenger"]["name"] == "lenient"
    assert sorted(r["borrower_id"] for r in listed) == ["B1", "B2"]
    cara = {"Authorization": f"Bearer {tokens['cara']}"}
    assert api.get("/v1/shadow/summary", headers=cara).status_code == 403


def test_the_shadow_summary_breaks_restriction_down_by_the_profiles_groups(
    shadowed: tuple[Container, dict[str, str]],
) -> None:
    container, tokens = shadowed
    assert container.keyring is not None
    for borrower, region in (("B1", "south"), ("B2", "south"), ("B3", "north")):
        save_profile(
            SaveProfile(borrower_id=borrower, name="x", region=region, birth_year=1990),
            uow=container.uow(),
            keyring=container.keyring,
        )
    api = TestClient(create_app(container))

    summary = api.get(
        "/v1/shadow/summary", headers={"Authorization": f"Bearer {tokens['ann']}"}
    ).json()

    fairness = summary["fairness"]
    regions = {r["group"]: r for r in fairness["production"] if r["attribute"] == "region"}
    assert (regions["south"]["rate"], regions["north"]["rate"]) == (1.0, 0.0)
    assert regions["south"]["ratio"] is None, "restricted beside unrestricted: infinitely apart"
    assert any(w.startswith("region=south") for w in fairness["warnings"])
    assert "1990" not in str(summary), "no birth year leaves, only bands"

    page = html.unescape(
        logged_in(create_app(container), container, "ann").get("/console/shadow").text
    )
    assert '<table id="fairness">' in page
    assert "past threshold" in page
