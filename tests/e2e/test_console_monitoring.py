"""The console's Monitoring page and the monitoring API over a synthetic book decided at
several dates: charts drawn in a real browser, the series and snapshot over HTTP, and only
for the roles that may read them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import expect

from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.config import Settings
from repayguard.decisions import DecideBorrowers, decide_borrowers, triggers
from repayguard.identity import SetPassword, set_password
from repayguard.ingestion import ingest_files
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.simulation import PortfolioSpec, generate_portfolio

from support.approvals import Api, make_team, team_tokens
from support.browser import PASSWORD, chromium, log_in, served
from support.common import make_settings

START = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2025, 4, 1, 12, tzinfo=UTC)
"""The synthetic book runs three months from START; the console looks at its last days."""
DECIDED = [NOW - timedelta(days=d) for d in (45, 30, 15, 0)]


def _book(container: Container, directory: Path) -> None:
    """300 synthetic borrowers over three months, decided at four dates (tiers move)."""
    generate_portfolio(PortfolioSpec(borrowers=300, months=3, seed=7, start=START), directory)
    ingest_files(
        sorted(directory.glob("events-*.parquet")), uow=container.uow, setup=container.ingest
    )
    for as_of in DECIDED:
        decide_borrowers(
            DecideBorrowers(trigger=triggers.CLI, as_of=as_of),
            uow=container.uow(),
            engine=container.decision_engine,
            history_days=container.settings.decisions.history_days,
        )


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings of a store holding the decided synthetic book and the team (built once:
    generating and deciding it takes most of this module's time)."""
    root = tmp_path_factory.mktemp("monitoring")
    settings = make_settings(f"sqlite:///{root / 'r.db'}", root, auth="required")
    settings = settings.model_copy(
        update={"decisions": settings.decisions.model_copy(update={"online": False})}
    )
    with bootstrap(settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True) as built:
        _book(built, root / "generated")
        make_team(built)
        for name in ("amy", "aud"):
            set_password(SetPassword(name, PASSWORD), uow=built.uow())
    return settings


@pytest.fixture
def book(stored: Settings) -> Iterator[Container]:
    """A process on the stored book (serving it closes it; closing twice is harmless)."""
    with bootstrap(stored, clock=FixedClock(NOW), bus=RecordingBus()) as built:
        yield built


def test_the_series_and_snapshot_answer_the_roles_that_may_read_them(book: Container) -> None:
    tokens = team_tokens(book, dict.fromkeys(("ann", "pat", "aud", "amy", "cara"), ""))
    with TestClient(create_app(book)) as http:
        api = Api(http, tokens)
        start, end = (NOW - timedelta(days=6)).date(), NOW.date()
        got = api.get(
            "aud",
            "/v1/monitoring/metrics",
            start=str(start),
            end=str(end),
            metric=["overdue_rate_30p", "tier_migration"],
            segment=["all", "T2->T3"],
        )
        assert got.status_code == 200, got.text
        body = got.json()
        assert {p["metric"] for p in body["points"]} <= {"overdue_rate_30p", "tier_migration"}
        days = {p["day"] for p in body["points"] if p["metric"] == "overdue_rate_30p"}
        assert days == {(start + timedelta(days=n)).isoformat() for n in range(7)}
        for p in body["points"]:
            assert p["value"] == pytest.approx(p["numerator"] / p["denominator"])
        for who in ("ann", "pat", "amy"):
            assert api.get(who, "/v1/monitoring/snapshot").status_code == 200
        snapshot = api.get("aud", "/v1/monitoring/snapshot").json()
        assert snapshot["windows"] == [1, 7, 30]
        assert any(v["metric"] == "overdue_rate_1p" for v in snapshot["values"])
        assert api.get("cara", "/v1/monitoring/snapshot").status_code == 403
        refused = api.get("aud", "/v1/monitoring/metrics", metric=["nope"])
        assert (refused.status_code, refused.json()["code"]) == (422, "unknown_metric")
        reversed_ = api.get("aud", "/v1/monitoring/metrics", start=str(end), end=str(start))
        assert (reversed_.status_code, reversed_.json()["code"]) == (422, "metric_range_invalid")


def test_the_monitoring_page_draws_its_charts(book: Container, tmp_path: Path) -> None:
    with chromium() as browser, served(book) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda n: problems.append(n.text) if n.type == "error" else None)
        log_in(page, base, "aud")
        page.locator("header nav").get_by_role("link", name="Monitoring", exact=True).click()
        # The page computes a 30-day series of the whole book: slow on a loaded machine.
        page.wait_for_url("**/console/monitoring", timeout=60_000)
        page.screenshot(path=str(tmp_path / "landed.png"), full_page=True)
        expect(page.get_by_role("heading", name="Portfolio monitoring")).to_be_visible()
        page.get_by_label("From").fill((NOW - timedelta(days=44)).date().isoformat())
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/console/monitoring?start=*", timeout=60_000)
        for chart in ("overdue", "failed", "rolls", "restricted", "migration"):
            expect(page.locator(f"#chart-{chart} .main-svg").first).to_be_attached()
        expect(page.locator("#snapshot")).to_contain_text("Overdue 30+ DPD")
        page.screenshot(path="/tmp/monitoring.png", full_page=True)
        page.screenshot(path=str(tmp_path / "monitoring.png"), full_page=True)
        assert problems == [], "the charts draw without script errors"
        page.goto(f"{base}/console/monitoring?start=2025-13-01")
        expect(page.get_by_text("is not a date")).to_be_visible()
