"""The console's Simulations page: saved simulation reports listed and shown, the offline
report served from the data folder only, and only to those who read policies."""

from __future__ import annotations

import html
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from repayguard import policies, resources
from repayguard.api.app import create_app
from repayguard.bootstrap import Container, bootstrap
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock
from repayguard.simulation import (
    ArmPolicy,
    PortfolioSpec,
    compare,
    default_assumptions,
    html_report,
    save_run,
)

from support.approvals import make_team
from support.common import make_settings
from support.console import logged_in


def _policy(path: str, label: str) -> ArmPolicy:
    text = resources.read_text(path)
    return ArmPolicy(label, policies.load_policy_text(text, profiles=policies.profiles()))


@pytest.fixture
def saved(database_url: str, tmp_path: Path, clock: FixedClock) -> Iterator[tuple[Container, str]]:
    """A served repayguard whose data folder holds one saved simulation (arm B's label has
    markup in it, to see it escaped)."""
    settings = make_settings(database_url, tmp_path, auth="required")
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        make_team(built)
        result = compare(
            PortfolioSpec(borrowers=500, months=2, seed=3),
            _policy("simulation/no-restriction.yaml", "none"),
            _policy("policies/cn-default.yaml", "<b>shipped</b>"),
            default_assumptions(), seeds=2,
        )  # fmt: skip
        run = save_run(
            tmp_path / "simulations",
            result.as_json(),
            html_report(result),
            at=datetime(2026, 12, 1, 9, 30, tzinfo=UTC),
        )
        (tmp_path / "secret.txt").write_text("not for the console", encoding="utf-8")
        yield built, run.run_id


def test_the_page_lists_a_saved_run_and_shows_it(saved: tuple[Container, str]) -> None:
    container, run_id = saved
    browser = logged_in(create_app(container), container, "ann")

    listing = browser.get("/console/simulations")
    assert listing.status_code == 200, listing.text
    assert f'href="/console/simulations/{run_id}"' in listing.text
    assert "&lt;b&gt;shipped&lt;/b&gt;" in listing.text
    assert "<b>shipped</b>" not in listing.text
    assert "500 × 2" in listing.text
    assert 'href="/console/simulations"' in listing.text, "the navigation links the page"

    one = browser.get(f"/console/simulations/{run_id}")
    assert one.status_code == 200, one.text
    text = html.unescape(one.text)
    assert "30+ DPD rate at the last month's end" in text
    assert "region=north" in text
    assert f'href="/console/simulations/{run_id}/report"' in one.text
    assert "<b>shipped</b>" not in one.text

    report = browser.get(f"/console/simulations/{run_id}/report")
    assert report.status_code == 200
    assert "Plotly" in report.text
    assert "By group" in report.text


def test_the_page_says_what_to_do_when_nothing_is_saved(
    database_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    settings = make_settings(database_url, tmp_path, auth="required")
    with bootstrap(settings, clock=clock, bus=RecordingBus(), migrate=True) as built:
        make_team(built)
        page = logged_in(create_app(built), built, "ann").get("/console/simulations")
    assert page.status_code == 200
    assert "--save" in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/console/simulations/..%2Fsecret.txt/report",
        "/console/simulations/..%2F..%2Fsecret.txt",
        "/console/simulations/%2E%2E/report",
        "/console/simulations/20261201T093000Z-00000000/report",
        "/console/simulations/20261201T093000Z-00000000",
    ],
)
def test_no_file_outside_a_saved_run_is_served(saved: tuple[Container, str], path: str) -> None:
    container, _ = saved
    browser = logged_in(create_app(container), container, "ann")

    page = browser.get(path)

    assert page.status_code == 404, page.text
    assert "not for the console" not in page.text


def test_the_run_file_refuses_names_outside_the_folder(tmp_path: Path) -> None:
    from repayguard.simulation import run_file

    root = tmp_path / "simulations"
    (root / "20261201T093000Z-0a0b0c0d").mkdir(parents=True)
    (root / "20261201T093000Z-0a0b0c0d" / "report.html").write_text("x", encoding="utf-8")
    (tmp_path / "report.html").write_text("outside", encoding="utf-8")
    assert run_file(root, "20261201T093000Z-0a0b0c0d", "report.html") is not None
    assert run_file(root, "..", "report.html") is None
    assert run_file(root, "20261201T093000Z-0a0b0c0d", "../../report.html") is None
    assert run_file(root, "20261201T093000Z-0a0b0c0d/..", "report.html") is None
    # A link planted inside the folder does not lead out of it either.
    (root / "20261201T093000Z-1a1b1c1d").symlink_to(tmp_path)
    assert run_file(root, "20261201T093000Z-1a1b1c1d", "report.html") is None


def test_the_simulations_page_is_closed_to_those_who_cannot_read_policies(
    saved: tuple[Container, str],
) -> None:
    container, run_id = saved
    browser = logged_in(create_app(container), container, "cara")

    assert browser.get("/console/simulations").status_code == 403
    assert browser.get(f"/console/simulations/{run_id}/report").status_code == 403
    assert 'href="/console/simulations"' not in browser.get("/console/").text


def test_the_summary_is_the_runs_index_entry(saved: tuple[Container, str], tmp_path: Path) -> None:
    _, run_id = saved
    summary = json.loads((tmp_path / "simulations" / run_id / "summary.json").read_text())
    assert summary["headline"]["metric"] == "dpd30_rate"
    assert summary["arms"]["B"]["label"] == "<b>shipped</b>"
    assert summary["seeds"] == [3, 4]
