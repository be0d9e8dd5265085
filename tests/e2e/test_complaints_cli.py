"""``repayguard complaints`` as an agent runs it: list the queue, show a case with its decision,
uphold one case and reverse another through ``repayguard approvals``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from typer.testing import CliRunner, Result

from repayguard import complaints
from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.cli.shared import load_settings, one_shot
from repayguard.ingestion import IngestEvents, ingest_events

from support.builders import failing_debits_history, healthy_history
from support.common import OPERATOR_PASSWORD
from support.complaints import STATEMENT

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
    listed = run(data_dir, "complaints", "list", "--json", *args)
    assert listed.exit_code == 0, listed.output
    items: list[dict[str, Any]] = json.loads(listed.output)["items"]
    return items


def test_an_agent_lists_shows_upholds_and_reverses_complaints(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    now = datetime.now(UTC)  # the commands run on the system clock
    with bootstrap(one_shot(load_settings(folder), online=True), migrate=True) as container:
        events = failing_debits_history("B1", now) + failing_debits_history("B2", now)
        ingest_events(IngestEvents(events + healthy_history("B3", now), source="t"),
                      uow=container.uow(), setup=container.ingest)  # fmt: skip
        assert container.complaints is not None
        for borrower in ("B1", "B2"):
            complaints.file_complaint(
                complaints.FileComplaint(borrower, STATEMENT, ["auto_debit"]),
                uow=container.uow(),
                setup=container.complaints,
            )
    for name, role in (("cara", "cs_agent"), ("pat", "approver")):
        assert run(folder, "user", "add", name, "--role", role).exit_code == 0
        assert run(folder, "user", "password", name, "--password-stdin").exit_code == 0
    by_borrower = {c["borrower_id"]: c["complaint_id"] for c in queue(folder)}
    assert sorted(by_borrower) == ["B1", "B2"]
    listed = run(folder, "complaints", "list")
    assert "Complaints (2 in all)" in said(listed)

    shown = run(folder, "complaints", "show", by_borrower["B1"], "--as", "cara")

    assert shown.exit_code == 0, shown.output
    text = said(shown)
    assert "the bank changed my card" in text
    assert re.search(r"rule\s*│\s*failed-debits", text)
    assert "REPEATED_FAILED_DEBITS: Automatic debits failed repeatedly" in text
    assert re.search(r"content hash [0-9a-f]{64}", text)
    assert re.search(r"notice: complaint_received\s*│\s*\[zh-CN\] 我们已收到您的投诉", text)
    assert "inbox delivered" in text, "how the notice reached the borrower"
    upheld = run(
        folder, "complaints", "resolve", by_borrower["B1"], "--as", "cara",
        "--outcome", "uphold", "--comment", "three debits failed",
    )  # fmt: skip
    assert upheld.exit_code == 0, upheld.output
    assert f"Complaint {by_borrower['B1']} is upheld." in said(upheld)
    after = run(folder, "complaints", "show", by_borrower["B1"], "--as", "cara", "--json")
    assert after.exit_code == 0, after.output
    told = json.loads(after.stdout)["complaint"]["notices"]
    assert [(n["kind"], n["occasion_id"]) for n in told] == [
        ("complaint_received", by_borrower["B1"]),
        ("complaint_resolved", by_borrower["B1"]),
    ]
    assert [d["channel"] for d in told[1]["deliveries"]] == ["inbox"]
    not_agent = run(
        folder, "complaints", "resolve", by_borrower["B2"], "--as", "pat",
        "--outcome", "uphold", "--comment", "x",
    )  # fmt: skip
    assert not_agent.exit_code == 3
    assert "an approver may not resolve complaints" in said(not_agent)
    reversed_ = run(
        folder, "complaints", "resolve", by_borrower["B2"], "--as", "cara",
        "--outcome", "reverse", "--comment", "card replaced", "--days", "30",
    )  # fmt: skip
    assert reversed_.exit_code == 0, reversed_.output
    (pending,) = queue(folder, "--status", "reversal_pending")
    assert f"repayguard approvals approve {pending['approval_id']}" in said(reversed_)

    approved = run(folder, "approvals", "approve", pending["approval_id"], "--as", "pat")

    assert approved.exit_code == 0, approved.output
    closed = {c["borrower_id"]: c["status"] for c in queue(folder, "--status", "closed")}
    assert closed == {"B1": "upheld", "B2": "reversed"}
    assert queue(folder) == []
