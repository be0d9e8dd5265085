"""``repayguard shadow`` and ``repayguard policy replay`` as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock

from builders import failing_debits_history, healthy_history
from conftest import NOW, make_settings

runner = CliRunner()


def _book(data_dir: Path) -> None:
    settings = make_settings(f"sqlite:///{data_dir / 'repayguard.db'}", data_dir)
    with bootstrap(settings, clock=FixedClock(NOW), migrate=True) as built:
        events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
        ingest_events(IngestEvents(events, source="test"), uow=built.uow())


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, str(result.output)


def test_shadow_set_status_clear_and_replay(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _book(data)
    where = ("--data-dir", str(data))

    code, out = cli("shadow", "status", *where)
    assert code == 0
    assert "No challenger is set" in out

    code, out = cli("shadow", "set", "cn-consumer-credit-line@1", "--as", "ops", *where)
    assert code == 0, out
    assert "Challenger set" in out

    code, out = cli("shadow", "status", "--json", *where)
    status = json.loads(out)
    assert status["challenger"]["version"] == "1"

    day = NOW.strftime("%Y-%m-%d")
    code, out = cli(
        "policy", "replay", "cn-consumer-credit-line@1", "--from", day, "--to", day, "--json",
        *where,
    )  # fmt: skip
    assert code == 0, out
    replayed = json.loads(out)
    assert replayed["mode"] == "replay: changes decisions, not outcomes"
    assert replayed["changes"] == []
    assert len(replayed["runs"]) == 1

    code, out = cli("shadow", "set", "no-such-draft", *where)
    assert code == 2
    assert "no policy draft" in out

    code, out = cli("shadow", "clear", *where)
    assert code == 0
    assert "Shadow mode is off" in out
