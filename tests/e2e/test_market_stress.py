"""``repayguard monitor stress`` end to end at a small size: a market shock injected into a
synthetic book is detected within the stated delay, the armed market-stress playbook tightens
the T4-T5 borrowers' entitlements at once and authorize denies early repayment with the
overlay's reason, no decision breaks G1 or the jurisdiction profile, and the overlay nobody
reviewed lapses at its review deadline with the segment restored and told.

(Expiry at ``max_duration_hours`` after a review is held by tests/integration/test_overlays.py.)
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from repayguard.cli.app import app

STATED_DELAY_DAYS = 2
"""docs/monitoring.md: a market shock is detected within two days of shocked data."""
SHOCK_DAY = date(2026, 3, 4)

runner = CliRunner()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("stress")
    args = [
        "monitor", "stress", "--borrowers", "120", "--history-days", "60", "--watch-days", "5",
        "--shock-after", "3", "--work-dir", str(work / "run"), "--json",
    ]  # fmt: skip
    result = runner.invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    body: dict[str, Any] = json.loads(result.stdout)
    return body


def test_the_market_shock_is_detected_within_the_stated_delay(report: dict[str, Any]) -> None:
    assert report["scenario"]["watch_start"] == str(SHOCK_DAY - timedelta(days=3))
    market = [i for i in report["incidents"] if i["metric"] == "market_signal:unemployment_rate"]
    assert len(market) == 1
    (incident,) = market
    assert incident["since"] == str(SHOCK_DAY)
    assert 1 <= incident["delay_days"] <= STATED_DELAY_DAYS
    assert incident["deviation_sigma"] > 3


def test_the_armed_overlay_reaches_every_t4_t5_borrower_and_authorize_denies(
    report: dict[str, Any],
) -> None:
    (overlay,) = report["overlays"]
    assert overlay["armed_by"].startswith("incident:")
    tightened = overlay["tightened"]
    assert tightened, "the segment is not empty at this size and seed"
    # A T4-T5 row the policy already holds at least as tight carries no overlay id.
    assert len(tightened) <= overlay["in_segment"]
    assert {t["tier"] for t in tightened} <= {4, 5}
    armed_at = datetime.fromisoformat(overlay["armed_at"])
    for t in tightened:
        assert datetime.fromisoformat(t["at"]) == armed_at, "no notice period"
        assert (t["early_repayment"], t["auto_debit"]) == ("restricted", "mandatory")
        assert not t["authorize_allowed"]
        assert t["authorize_reasons"][0] == "EMERGENCY_MARKET_STRESS"
    assert overlay["notices_at_arming"] >= len(tightened)


def test_no_decision_breaks_g1_or_the_profile(report: dict[str, Any]) -> None:
    assert report["decisions_checked"] > 0
    assert report["g1_violations"] == []
    assert report["profile_violations"] == []


def test_the_unreviewed_overlay_lapses_at_its_deadline_and_methods_restore_with_notices(
    report: dict[str, Any],
) -> None:
    (overlay,) = report["overlays"]
    assert overlay["state"] == "lapsed"
    assert overlay["ended_at"] == overlay["review_due_at"]
    assert overlay["restored"] == len(overlay["tightened"])
    assert overlay["notices_at_end"] >= len(overlay["tightened"])


def test_a_shock_outside_the_watch_is_refused_with_what_to_change(tmp_path: Path) -> None:
    args = ["monitor", "stress", "--watch-days", "4", "--shock-after", "4"]
    result = runner.invoke(app, [*args, "--work-dir", str(tmp_path / "run")])
    assert result.exit_code == 2  # options that do not fit together: usage
    assert "shock must start within the watch" in result.output
