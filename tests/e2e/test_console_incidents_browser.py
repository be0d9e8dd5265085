"""An incident's page in a real browser (Debian's Chromium under Playwright): from the list to
the incident, whose evidence chart draws the series, the detector's statistic and its limits
without a script error (a screenshot is kept for a person to look at)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from repayguard.bootstrap import Container, bootstrap
from repayguard.identity import SetPassword, set_password
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.approvals import make_team
from support.browser import PASSWORD, chromium, log_in, served
from support.common import NOW, make_settings
from support.incidents import open_stepped_incident

SCREENSHOT = Path("/tmp/incident.png")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, str]]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    container: Container = bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True
    )
    make_team(container)
    set_password(SetPassword("ann", PASSWORD), uow=container.uow())
    found = open_stepped_incident(container.uow(), last_day=NOW.date() - timedelta(days=1))
    with served(container) as base:
        yield base, found.incident_id


def test_an_incident_opens_from_the_list_with_its_evidence_chart(site: tuple[str, str]) -> None:
    base, incident_id = site
    with chromium() as browser:
        _walk(browser, base, incident_id)


def _walk(browser: Browser, base: str, incident_id: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda note: problems.append(note.text) if note.type == "error" else None)
    log_in(page, base, "ann")
    page.locator("header nav").get_by_role("link", name="Incidents", exact=True).click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    page.locator(f"a[href='/console/incidents/{incident_id}']").click()
    # The page loads plotly (3 MB) before it renders: generous on a busy machine.
    expect(page.get_by_role("heading", name="What moved")).to_be_visible(timeout=30_000)
    chart = page.locator("#evidence")
    expect(chart.locator(".main-svg").first).to_be_attached(timeout=30_000)
    # Both panels drew: the series with its baseline, the statistic with both limits.
    for name in ("overdue_rate_1p", "baseline", "out of control", "upper limit", "lower limit"):
        expect(chart.locator(".legendtext", has_text=name)).to_have_count(1)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert problems == [], "the chart draws without script errors"
