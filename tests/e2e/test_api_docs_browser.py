"""The API's documentation page works on an isolated network: Swagger UI (/docs) loads in a
real browser (Debian's Chromium under Playwright) with every request to another host blocked,
and lists the operations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from repayguard.bootstrap import bootstrap
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.browser import chromium, served
from support.common import NOW, make_settings


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def base(tmp_path: Path) -> Iterator[str]:
    settings = make_settings(f"sqlite:///{tmp_path / 'r.db'}", tmp_path, auth="required")
    container = bootstrap(
        settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True, serve_view=True
    )
    with served(container) as url:
        yield url


def _isolated(browser: Browser) -> tuple[Page, list[str]]:
    """A page whose requests to any host but 127.0.0.1 are blocked (and recorded)."""
    page = browser.new_page()
    blocked: list[str] = []

    def only_loopback(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    return page, blocked


def test_swagger_ui_lists_the_operations_without_another_host(browser: Browser, base: str) -> None:
    page, blocked = _isolated(browser)
    page.goto(f"{base}/docs")

    expect(page.locator("#operations-ingestion-ingestEvents")).to_be_visible()
    expect(page.locator("#operations-entitlements-authorizeRepayment")).to_be_visible()
    assert page.locator(".opblock").count() >= 50
    assert page.locator(".opblock-summary-path", has_text="/console").count() == 0
    assert blocked == []
    page.close()


def test_there_is_no_redoc_page_that_would_reach_a_cdn(base: str) -> None:
    """ReDoc's page fetches its logo from its vendor's CDN: it is not served."""
    assert httpx.get(f"{base}/redoc").status_code == 404
