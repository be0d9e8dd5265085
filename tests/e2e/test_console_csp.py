"""The console under its Content-Security-Policy, in a real browser: its own charts (inline
scripts carrying the page's nonce) draw and the error page's Back link works with no console
error, while a script injected without the nonce is refused; every page is unframeable and
sent with nosniff and a referrer policy, and API answers get nosniff only."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from repayguard.bootstrap import bootstrap
from repayguard.identity import AddOperator, SetPassword, add_operator, set_password
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.browser import PASSWORD, chromium, console_errors, log_in, served
from support.builders import failing_debits_history, healthy_history
from support.common import NOW, make_settings

NONCE = re.compile(r"script-src 'self' 'nonce-([A-Za-z0-9+/=]+)'")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    container = bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    )
    events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
    ingest_events(IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest)
    add_operator(AddOperator("amy", "admin"), uow=container.uow())
    set_password(SetPassword("amy", PASSWORD), uow=container.uow())
    with served(container) as base:
        yield base


def test_console_pages_carry_the_policy_with_a_fresh_nonce_and_the_api_only_nosniff(
    site: str,
) -> None:
    with httpx.Client() as http:
        first = http.get(f"{site}/console/login")
        second = http.get(f"{site}/console/login")
        api = http.get(f"{site}/livez")

    policy = first.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "object-src 'none'" in policy
    assert "default-src 'self'" in policy
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
    nonces = [NONCE.search(r.headers["content-security-policy"]) for r in (first, second)]
    assert nonces[0] is not None
    assert nonces[1] is not None
    assert nonces[0].group(1) != nonces[1].group(1), "a new nonce for every page"
    assert first.headers["x-frame-options"] == "DENY"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["referrer-policy"] == "same-origin"
    assert api.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in api.headers
    assert "x-frame-options" not in api.headers


def test_the_consoles_own_scripts_run_and_an_injected_one_is_refused(
    site: str, browser: Browser
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda note: problems.extend(console_errors(note)))
    log_in(page, site, "amy")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator("#tiers .main-svg").first).to_be_visible()  # the nonce'd script ran

    page.goto(f"{site}/console/borrowers")
    assert problems == [], "the console's pages run under their policy without errors"

    page.goto(f"{site}/console/nowhere")  # the browser reports the 404 itself
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    page.get_by_role("link", name="Back").click()  # a nonce'd script: back in history
    expect(page).to_have_url(f"{site}/console/borrowers")
    assert not [p for p in problems if "Content Security Policy" in p], problems

    with page.expect_console_message(lambda note: "Content Security Policy" in note.text) as seen:
        ran = page.evaluate(
            """() => {
                const injected = document.createElement("script");
                injected.textContent = "window.injectedRan = true";
                document.body.appendChild(injected);
                return window.injectedRan === true;
            }"""
        )
    assert ran is False, "a script without the page's nonce does not run"
    assert "script" in seen.value.text
