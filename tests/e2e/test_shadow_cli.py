"""``repayguard shadow`` and ``repayguard policy replay`` as a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from repayguard import resources
from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.decisions import DEFAULT_POLICY
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, OPERATOR_PASSWORD, make_settings

runner = CliRunner()


def _book(data_dir: Path) -> None:
    settings = make_settings(f"sqlite:///{data_dir / 'repayguard.db'}", data_dir)
    with bootstrap(settings, clock=FixedClock(NOW), migrate=True) as built:
        events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
        ingest_events(IngestEvents(events, source="test"), uow=built.uow(), setup=built.ingest)


def cli(*args: str) -> tuple[int, str]:
    """The command, with the operators' password typed at the prompt '--as NAME' asks it at."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"}, input=f"{OPERATOR_PASSWORD}\n")
    return result.exit_code, str(result.output)


def test_shadow_set_status_clear_and_replay(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _book(data)
    where = ("--data-dir", str(data))

    for name, role in (("ops", "admin"), ("ana", "analyst")):
        assert cli("user", "add", name, "--role", role, *where)[0] == 0
        assert cli("user", "password", name, "--password-stdin", *where)[0] == 0
    code, out = cli("shadow", "status", *where)
    assert code == 0
    assert "No challenger is set" in out

    code, out = cli("shadow", "set", "cn-consumer-credit-line@1", *where)
    assert code == 3, "who sets the challenger must prove it"
    code, out = cli("shadow", "set", "cn-consumer-credit-line@1", "--as", "ana", *where)
    assert code == 3, "an analyst does not set the challenger"

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

    code, out = cli("shadow", "set", "no-such-draft", "--as", "ops", *where)
    assert code == 3
    assert "no policy draft" in out

    code, out = cli("shadow", "clear", "--as", "ops", *where)
    assert code == 0
    assert "Shadow mode is off" in out


def test_impact_and_replay_warn_when_a_candidate_crosses_the_disparity_threshold(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    _book(data)
    where = ("--data-dir", str(data))
    groups = tmp_path / "groups.csv"
    groups.write_text("borrower_id,region,birth_year\nB1,south,1990\nB2,north,1991\n")
    strict = tmp_path / "strict.yaml"
    # Everyone in the lowest tiers restricted too, B2 included: the north catches up.
    strict.write_text(
        resources.read_text(DEFAULT_POLICY).replace(
            'failed_debits_30d: ">= 3"', 'failed_debits_30d: ">= 0"'
        )
    )
    shipped = resources.read_text(DEFAULT_POLICY)
    (tmp_path / "shipped.yaml").write_text(shipped)

    code, out = cli(
        "policy", "impact", str(tmp_path / "shipped.yaml"), "--attributes", str(groups),
        "--json", *where,
    )  # fmt: skip
    assert code == 0, out
    fairness = json.loads(out)["fairness"]
    regions = {r["group"]: r for r in fairness["candidate"] if r["attribute"] == "region"}
    assert (regions["south"]["rate"], regions["north"]["rate"]) == (1.0, 0.0)
    assert regions["south"]["ratio"] is None, "infinitely apart: null in JSON"
    assert any("region=south" in w for w in fairness["warnings"])

    code, out = cli("policy", "impact", str(strict), "--attributes", str(groups), *where)
    assert code == 0, out
    assert "fairness:" not in out, "both regions restricted alike: no warning"
    assert "Restriction rate by group" in out

    day = NOW.strftime("%Y-%m-%d")
    code, out = cli(
        "policy", "replay", str(tmp_path / "shipped.yaml"), "--from", day, "--to", day,
        "--attributes", str(groups), *where,
    )  # fmt: skip
    assert code == 0, out
    assert "replay: changes decisions, not outcomes" in out
    assert "fairness: region=south" in " ".join(out.split())
