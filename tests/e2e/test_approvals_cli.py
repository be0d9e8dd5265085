"""``repayguard approvals`` as operators run it: ask, list, show, reject, withdraw, approve in
bulk, expire — acting with ``--as``, refused with what to do, exit codes for scripts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.cli.shared import load_settings, one_shot
from repayguard.ingestion import IngestEvents, ingest_events

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, OPERATOR_PASSWORD

runner = CliRunner()


def run(data_dir: Path, *args: str, password: str = OPERATOR_PASSWORD) -> Result:
    """The command, with ``password`` typed at the prompt '--as NAME' asks it at."""
    return runner.invoke(
        app, [*args, "--data-dir", str(data_dir)], env={"COLUMNS": "220"}, input=f"{password}\n"
    )


def said(result: Result) -> str:
    return " ".join(result.output.split())


def queue(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    listed = run(data_dir, "approvals", "list", "--json", *args)
    assert listed.exit_code == 0, listed.output
    items: list[dict[str, Any]] = json.loads(listed.output)["items"]
    return items


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder with a team and two borrowers: B1 decided with failing debits."""
    folder = tmp_path / "data"
    with bootstrap(one_shot(load_settings(folder), online=True), migrate=True) as container:
        events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
        ingest_events(
            IngestEvents(events, source="test"), uow=container.uow(), setup=container.ingest
        )
    for name, role in (("cara", "cs_agent"), ("pat", "approver"), ("amy", "admin")):
        assert run(folder, "user", "add", name, "--role", role).exit_code == 0
        assert run(folder, "user", "password", name, "--password-stdin").exit_code == 0
    return folder


def ask_override(data_dir: Path, borrower: str, who: str = "cara") -> Result:
    return run(
        data_dir, "approvals", "override", borrower, "--as", who,
        "--auto-debit", "optional", "--early-repayment", "allowed", "--manual", "allowed",
        "--channel", "app_balance", "--channel", "bank_card", "--days", "14",
        "--note", "hardship call",
    )  # fmt: skip


def test_an_override_is_asked_shown_refused_to_its_maker_and_rejected(data_dir: Path) -> None:
    asked = ask_override(data_dir, "B1")
    assert asked.exit_code == 0, asked.output
    assert "repayguard approvals approve" in said(asked)
    (pending,) = queue(data_dir)
    rid = pending["request_id"]
    assert (pending["kind"], pending["subject"], pending["maker_name"]) == (
        "override",
        "B1",
        "cara",
    )
    shown = run(data_dir, "approvals", "show", rid)
    assert pending["payload_sha256"] in said(shown)
    assert "hardship call" in said(shown)
    again = ask_override(data_dir, "B1")
    assert again.exit_code == 3
    assert "already pending" in said(again)
    checker_only = ask_override(data_dir, "B2", who="pat")
    assert checker_only.exit_code == 3
    assert "checkers decide requests, they never make them" in said(checker_only)
    own = run(data_dir, "approvals", "approve", rid, "--as", "cara")
    assert own.exit_code == 3
    assert "may not approve or reject" in said(own)
    unknown = run(data_dir, "approvals", "approve", rid, "--as", "mallory")
    assert unknown.exit_code == 3
    assert "the username or password is wrong" in said(unknown)  # names are not confirmed
    no_reason = run(data_dir, "approvals", "reject", rid, "--as", "pat")
    assert no_reason.exit_code == 2  # --comment is required: a usage error

    rejected = run(data_dir, "approvals", "reject", rid, "--as", "pat", "--comment", "no proof")

    assert rejected.exit_code == 0, rejected.output
    assert f"Request {rid} (override) is rejected" in said(rejected)
    assert queue(data_dir) == []
    (done,) = queue(data_dir, "--state", "all")
    assert (done["state"], done["checker_name"], done["comment"]) == ("rejected", "pat", "no proof")


def test_the_maker_withdraws_an_admin_approves_and_overdue_requests_expire(
    data_dir: Path,
) -> None:
    first = ask_override(data_dir, "B1")
    second = ask_override(data_dir, "B2", who="amy")
    assert (first.exit_code, second.exit_code) == (0, 0)
    by_subject = {r["subject"]: r["request_id"] for r in queue(data_dir)}
    not_theirs = run(data_dir, "approvals", "withdraw", by_subject["B1"], "--as", "amy")
    assert not_theirs.exit_code == 3
    assert "only cara" in said(not_theirs)
    withdrawn = run(data_dir, "approvals", "withdraw", by_subject["B1"], "--as", "cara")
    assert "is withdrawn" in said(withdrawn)
    own = run(data_dir, "approvals", "approve", by_subject["B2"], "--as", "amy")
    assert own.exit_code == 3
    assert "cannot decide it" in said(own)
    approved = run(data_dir, "approvals", "approve", by_subject["B2"], "--as", "pat")
    assert approved.exit_code == 0, approved.output
    assert '"borrower_id": "B2"' in said(approved)
    bulk = run(data_dir, "approvals", "bulk-approve", "--as", "pat", "--comment", "routine")
    assert (bulk.exit_code, "Approved 0 held decisions." in said(bulk)) == (0, True)
    expired = run(data_dir, "approvals", "expire")
    assert expired.exit_code == 0, expired.output
    assert "0 overdue request(s) expired." in said(expired)
    assert [r["state"] for r in queue(data_dir, "--state", "all", "--kind", "override")] == [
        "withdrawn",
        "approved",
    ]
