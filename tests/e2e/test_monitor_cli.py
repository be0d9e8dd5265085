"""``repayguard monitor``: the metric series as a table and as JSON, the catalogue, and
refusals that say what to do."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.bus import RecordingBus
from repayguard.platform.clock import FixedClock

from support.builders import due, healthy_history
from support.common import NOW, make_settings

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with three borrowers on time and one 40 days overdue, decided as of NOW."""
    monkeypatch.setenv("REPAYGUARD_DATA_DIR", str(tmp_path))
    settings = make_settings(f"sqlite:///{tmp_path / 'repayguard.db'}", tmp_path)
    with bootstrap(settings, clock=FixedClock(NOW), bus=RecordingBus(), migrate=True) as built:
        events = [e for b in ("B1", "B2", "B3") for e in healthy_history(b, NOW)]
        events.append(due("B4", NOW - timedelta(days=40)))
        ingest_events(IngestEvents(events, source="test"), uow=built.uow(), setup=built.ingest)
    return tmp_path


def test_the_series_prints_as_a_table_and_as_json(data_dir: Path) -> None:
    day = NOW.date().isoformat()
    args = ["monitor", "metrics", "--from", day, "--to", day, "--metric", "overdue_rate_30p"]
    table = runner.invoke(app, [*args, "--data-dir", str(data_dir)])
    assert table.exit_code == 0, table.output
    assert "overdue_rate_30p" in table.output
    assert "0.25" in table.output
    got = runner.invoke(app, [*args, "--segment", "all", "--json", "--data-dir", str(data_dir)])
    assert got.exit_code == 0, got.output
    body = json.loads(got.output)
    assert [(p["metric"], p["segment"], p["value"]) for p in body["points"]] == [
        ("overdue_rate_30p", "all", 0.25)
    ]


def test_the_catalogue_and_the_refusals(data_dir: Path) -> None:
    listed = runner.invoke(app, ["monitor", "catalogue", "--json"])
    assert "score_psi" in {m["name"] for m in json.loads(listed.output)}
    unknown = runner.invoke(
        app, ["monitor", "metrics", "--metric", "nope", "--data-dir", str(data_dir)]
    )
    assert unknown.exit_code == 3
    assert "unknown metric" in unknown.output
    reversed_ = runner.invoke(
        app, ["monitor", "metrics", "--from", "2026-03-02", "--to", "2026-03-01",
              "--data-dir", str(data_dir)],
    )  # fmt: skip
    assert reversed_.exit_code == 3
    assert "before it starts" in reversed_.output
