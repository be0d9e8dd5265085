"""``repayguard incidents``: the list (table and --json), one incident, and acknowledging and
resolving as a proven operator whose role manages incidents."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner, Result

from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.cli.shared import load_settings, one_shot

from support.common import OPERATOR_PASSWORD
from support.incidents import open_stepped_incident

runner = CliRunner()


def run(data_dir: Path, *args: str) -> Result:
    """The command, with the operators' password typed at the prompt '--as NAME' asks it at."""
    return runner.invoke(
        app,
        [*args, "--data-dir", str(data_dir)],
        env={"COLUMNS": "220"},
        input=f"{OPERATOR_PASSWORD}\n",
    )


def said(result: Result) -> str:
    return " ".join(result.output.split())


def test_operators_list_show_acknowledge_and_resolve_an_incident(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    with bootstrap(one_shot(load_settings(folder)), migrate=True) as container:
        incident_id = open_stepped_incident(container.uow(), last_day=yesterday).incident_id
    for name, role in (("ann", "analyst"), ("cara", "cs_agent")):
        assert run(folder, "user", "add", name, "--role", role).exit_code == 0
        assert run(folder, "user", "password", name, "--password-stdin").exit_code == 0

    listed = run(folder, "incidents", "list")
    assert listed.exit_code == 0, listed.output
    assert "Incidents (1 in all)" in said(listed)
    assert "overdue_rate_1p" in said(listed)
    assert "T3" in said(listed)
    as_json = run(folder, "incidents", "list", "--json")
    [item] = json.loads(as_json.stdout)["items"]
    assert (item["incident_id"], item["state"], item["direction"]) == (incident_id, "open", "up")

    shown = run(folder, "incidents", "show", incident_id)
    assert shown.exit_code == 0, shown.output
    assert f"charted through {yesterday.isoformat()}" in said(shown)
    assert len(json.loads(run(folder, "incidents", "show", incident_id, "--json").stdout)[
        "evidence"]) == 150  # fmt: skip

    nobody = run(folder, "incidents", "ack", incident_id)
    assert nobody.exit_code != 0
    assert "needs to know which operator acts" in said(nobody)
    refused = run(folder, "incidents", "ack", incident_id, "--as", "cara")
    assert refused.exit_code != 0
    assert "role cs_agent may not acknowledge incidents" in said(refused)
    acked = run(folder, "incidents", "ack", incident_id, "--as", "ann", "--note", "on it")
    assert acked.exit_code == 0, acked.output
    assert f"Incident {incident_id} is acknowledged by ann" in said(acked)
    resolved = run(folder, "incidents", "resolve", incident_id, "--as", "ann", "--note",
                   "a collections backlog")  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    assert "No unresolved incidents." in said(run(folder, "incidents", "list"))
    assert json.loads(run(folder, "incidents", "list", "--state", "resolved", "--json").stdout)[
        "total"] == 1  # fmt: skip
    bad = run(folder, "incidents", "list", "--state", "closed")
    assert bad.exit_code != 0
    assert "unknown state 'closed'" in said(bad)
