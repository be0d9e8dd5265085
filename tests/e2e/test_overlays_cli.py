"""``repayguard playbooks`` and ``repayguard overlays`` as people run them: submit, approve
through maker-checker, arm, review by a second person, list, lift."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from repayguard import resources
from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, OPERATOR_PASSWORD, make_settings

runner = CliRunner()


def cli(*args: str) -> tuple[int, str]:
    """The command, with the operators' password typed at the prompt '--as NAME' asks it at."""
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"}, input=f"{OPERATOR_PASSWORD}\n")
    return result.exit_code, str(result.output)


def test_a_playbook_is_approved_armed_reviewed_and_lifted_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "data"
    settings = make_settings(f"sqlite:///{data / 'repayguard.db'}", data)
    with bootstrap(settings, clock=FixedClock(NOW), migrate=True) as built:
        events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
        ingest_events(IngestEvents(events, source="test"), uow=built.uow(), setup=built.ingest)
    where = ("--data-dir", str(data))
    for name, role in (("ops", "admin"), ("ana", "analyst"), ("pat", "approver")):
        assert cli("user", "add", name, "--role", role, *where)[0] == 0
        assert cli("user", "password", name, "--password-stdin", *where)[0] == 0
    book = tmp_path / "market-stress.yaml"
    book.write_text(resources.read_text("playbooks/market-stress.yaml"), encoding="utf-8")

    code, out = cli("playbooks", "submit", str(book), "--as", "ana", *where)
    assert code == 0, out
    code, out = cli("overlays", "arm", "market-stress", "--reason", "x", "--as", "ana", *where)
    assert code != 0, "a draft is not armed"
    assert "no approved version" in out
    code, out = cli("playbooks", "request-approval", "market-stress", "1", "--as", "ana", *where)
    assert code == 0, out
    found = re.search(r"Request (\w+)", out)
    assert found is not None, out
    request_id = found.group(1)
    code, out = cli("approvals", "approve", request_id, "--as", "pat", *where)
    assert code == 0, out
    code, out = cli("playbooks", "list", "--json", *where)
    assert [(p["name"], p["state"]) for p in json.loads(out)] == [("market-stress", "approved")]

    code, out = cli(
        "overlays", "arm", "market-stress", "--reason", "bond stress", "--as", "pat", *where
    )
    assert code == 3, "an approver does not arm overlays"
    code, out = cli(
        "overlays", "arm", "market-stress", "--reason", "bond stress", "--as", "ana", *where
    )
    assert code == 0, out
    (armed,) = json.loads(cli("overlays", "list", "--active", "--json", *where)[1])
    assert (armed["armed_by"], armed["state"]) == ("ana", "armed")
    code, out = cli("decide", "runs", "--json", *where)
    assert f"overlay:{armed['overlay_id']}" in out

    code, out = cli("overlays", "review", armed["overlay_id"], "--as", "pat", *where)
    assert code == 0, out
    code, out = cli(
        "overlays", "lift", armed["overlay_id"], "--reason", "over", "--as", "ana", *where
    )
    assert code == 0, out
    (ended,) = json.loads(cli("overlays", "list", "--json", *where)[1])
    assert (ended["state"], ended["reviewed_by"], ended["lifted_by"]) == ("lifted", "pat", "ana")
