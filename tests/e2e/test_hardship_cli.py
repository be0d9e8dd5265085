"""``repayguard hardship`` as agents run it: one opens a case for a borrower, the queue shows it,
the opener cannot decide it, a second agent reads and closes it; ``repayguard keys rotate``
re-encrypts the case's notes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.cli.shared import load_settings, one_shot
from repayguard.hardship.models import HardshipCaseRow
from repayguard.ingestion import IngestEvents, ingest_events

from support.builders import failing_debits_history, healthy_history
from support.common import OPERATOR_PASSWORD
from support.hardship import EVIDENCE

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


def queue(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    listed = run(data_dir, "hardship", "list", "--json", *args)
    assert listed.exit_code == 0, listed.output
    items: list[dict[str, Any]] = json.loads(listed.output)["items"]
    return items


def key_of(folder: Path, case_id: str) -> str:
    """The data key a case's notes are sealed under, as stored."""
    with (
        bootstrap(one_shot(load_settings(folder)), migrate=False) as container,
        container.session_factory() as session,
    ):
        row = session.get(HardshipCaseRow, case_id)
        assert row is not None
        return row.key_id


def test_agents_open_list_show_and_close_a_case_and_rotation_re_encrypts_its_notes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    now = datetime.now(UTC)  # the commands run on the system clock
    with bootstrap(one_shot(load_settings(folder), online=True), migrate=True) as container:
        events = failing_debits_history("B1", now) + healthy_history("B2", now)
        ingest_events(IngestEvents(events, source="t"), uow=container.uow(), setup=container.ingest)
    for name, role in (("cara", "cs_agent"), ("carl", "cs_agent"), ("ann", "analyst")):
        assert run(folder, "user", "add", name, "--role", role).exit_code == 0
        assert run(folder, "user", "password", name, "--password-stdin").exit_code == 0

    opened = run(folder, "hardship", "open", "B1", "--as", "cara", "--reason", "job_loss",
                 "--evidence", EVIDENCE)  # fmt: skip
    assert opened.exit_code == 0, opened.output
    (case,) = queue(folder)
    case_id = case["case_id"]
    assert f"Hardship case {case_id} is open for B1" in said(opened)
    assert (case["borrower_id"], case["reason"], case["status"]) == ("B1", "job_loss", "open")
    assert "Hardship cases (1 in all)" in said(run(folder, "hardship", "list"))
    twice = run(folder, "hardship", "open", "B1", "--as", "carl", "--reason", "illness",
                "--evidence", "again")  # fmt: skip
    assert twice.exit_code != 0
    assert "already open" in said(twice)
    refused = run(folder, "hardship", "open", "B2", "--as", "ann", "--reason", "illness",
                  "--evidence", "x")  # fmt: skip
    assert refused.exit_code != 0
    assert "an analyst may not open hardship cases" in said(refused)

    own = run(folder, "hardship", "close", case_id, "--as", "cara", "--outcome", "granted",
              "--note", "mine")  # fmt: skip
    assert own.exit_code != 0
    assert "cara opened hardship case" in said(own)
    shown = run(folder, "hardship", "show", case_id, "--as", "carl")
    assert shown.exit_code == 0, shown.output
    assert "Laid off on 2 February" in said(shown)
    assert "notice: hardship_opened" in said(shown)
    closed = run(folder, "hardship", "close", case_id, "--as", "carl", "--outcome", "granted",
                 "--note", "severance letter seen")  # fmt: skip
    assert closed.exit_code == 0, closed.output
    assert f"Hardship case {case_id} is granted" in said(closed)
    assert queue(folder) == []
    (done,) = queue(folder, "--status", "closed")
    assert (done["status"], done["reviewer_name"]) == ("granted", "carl")

    before = key_of(folder, case_id)
    rotated = run(folder, "keys", "rotate")
    assert rotated.exit_code == 0, rotated.output
    assert "Hardship notes of 1 case(s) re-encrypted" in said(rotated)
    assert key_of(folder, case_id) != before
    again = run(folder, "hardship", "show", case_id, "--as", "carl", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["note"] == "severance letter seen"
