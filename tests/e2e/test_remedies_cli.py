"""``repayguard complaints show`` lists the remedies of a reversed case: computed when the
reversal is approved, the large one waiting for a second person's ``approvals approve``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from repayguard import complaints
from repayguard.bootstrap import bootstrap
from repayguard.cli.app import app
from repayguard.cli.shared import load_settings, one_shot
from repayguard.ingestion import IngestEvents, ingest_events
from repayguard.platform.clock import FixedClock

from support.builders import debit_attempt, failing_debits_history, policy_text
from support.common import OPERATOR_PASSWORD
from support.complaints import STATEMENT

runner = CliRunner()

POLICY = policy_text(
    "forcing-debits",
    """\
inputs:
  failed_debits_30d: {type: integer, minimum: 0}
  open_appeal: {type: boolean}
hit_policy: first
rows:
  - id: appeal-freeze
    when: {open_appeal: "true"}
    then: keep
    reasons: [APPEAL_PENDING]
  - id: failing-debits
    when: {failed_debits_30d: ">= 3"}
    then: {auto_debit: mandatory, manual_channels: [app_balance]}
    reasons: [REPEATED_FAILED_DEBITS]
    notice_days: 0
    max_days: 60
    review_after_days: 14
""",
)


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


def test_a_reversed_case_shows_its_remedies_and_the_large_one_waits_for_a_checker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    monkeypatch.setenv("REPAYGUARD_DECISIONS__POLICY_PATH", str(policy))
    monkeypatch.setenv("REPAYGUARD_REMEDIES__FAILED_DEBIT_FEE", "15")
    monkeypatch.setenv("REPAYGUARD_REMEDIES__AUTO_APPROVE_UP_TO", "20")
    # Decided and contested ten days ago; two debits failed since. The commands then run on
    # the system clock.
    then = datetime.now(UTC) - timedelta(days=10)
    settings = one_shot(load_settings(folder), online=True)
    clock = FixedClock(then)
    with bootstrap(settings, migrate=True, clock=clock) as container:
        ingest_events(IngestEvents(failing_debits_history("B1", then), source="t"),
                      uow=container.uow(), setup=container.ingest)  # fmt: skip
        assert container.complaints is not None
        case = complaints.file_complaint(
            complaints.FileComplaint("B1", STATEMENT, ["auto_debit"]),
            uow=container.uow(),
            setup=container.complaints,
        )
        later = [debit_attempt("B1", then + timedelta(days=d), "failed") for d in (2, 4)]
        clock.advance(timedelta(days=4))  # the failed debits arrive when they happen
        ingest_events(IngestEvents(later, source="t"), uow=container.uow(), setup=container.ingest)
    for name, role in (("cara", "cs_agent"), ("pat", "approver")):
        assert run(folder, "user", "add", name, "--role", role).exit_code == 0
        assert run(folder, "user", "password", name, "--password-stdin").exit_code == 0
    reversed_ = run(
        folder, "complaints", "resolve", case.complaint_id, "--as", "cara",
        "--outcome", "reverse", "--comment", "the bank replaced the card",
    )  # fmt: skip
    assert reversed_.exit_code == 0, reversed_.output
    override = re.search(r"repayguard approvals approve (\w+)", said(reversed_))
    assert override is not None
    assert run(folder, "approvals", "approve", override.group(1), "--as", "pat").exit_code == 0

    shown = run(folder, "complaints", "show", case.complaint_id, "--as", "cara")

    assert shown.exit_code == 0, shown.output
    text = said(shown)
    assert "Remedies" in text
    waiting = re.search(
        r"refund failed-debit fees\s*│\s*30\.00 CNY\s*│\s*waits for a second person "
        r"\(request (\w+)\)",
        text,
    )
    assert waiting is not None, text
    assert re.search(r"credit-bureau correction\s*│\s*-\s*│\s*approved by repayguard", text)
    assert re.search(r"apology notice\s*│\s*-\s*│\s*sent", text)
    refused = run(folder, "approvals", "approve", waiting.group(1), "--as", "cara")
    assert refused.exit_code != 0
    approved = run(folder, "approvals", "approve", waiting.group(1), "--as", "pat")
    assert approved.exit_code == 0, approved.output
    after = run(folder, "complaints", "show", case.complaint_id, "--as", "cara", "--json")
    assert after.exit_code == 0, after.output
    listed = {r["kind"]: r for r in json.loads(after.stdout)["remedies"]}
    assert (listed["fee_refund"]["state"], listed["fee_refund"]["decided_by"]) == (
        "approved",
        "pat",
    )
    assert listed["fee_refund"]["amount"] == "30.00"
    assert len(listed["fee_refund"]["basis"]["failed_debits"]) == 2
