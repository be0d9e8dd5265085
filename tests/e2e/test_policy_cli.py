"""``repayguard policy`` as a person runs it: files in, tables and JSON out, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from repayguard.cli.app import app as cli_app
from repayguard.cli.policy import policy_app
from repayguard.platform import schema
from repayguard.platform.db import make_engine
from repayguard.policies.errors import PolicyNotInForce
from repayguard.resources import read_text

from support.common import OPERATOR_PASSWORD

CN = read_text("policies/cn-default.yaml")
runner = CliRunner()


def invoke(*args: str) -> Any:
    """The command, with the operators' password typed at the prompt '--as NAME' asks it at."""
    return runner.invoke(
        policy_app, list(args), env={"COLUMNS": "200"}, input=f"{OPERATOR_PASSWORD}\n"
    )


def said(result: Any) -> str:
    """The output with line wrapping undone (the shared console may be 80 columns wide)."""
    return " ".join(str(result.output).split())


@pytest.fixture
def cn_file(tmp_path: Path) -> Path:
    path = tmp_path / "cn.yaml"
    path.write_text(CN, encoding="utf-8")
    return path


def write_doc(tmp_path: Path, name: str, doc: dict[str, Any]) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    engine = make_engine(f"sqlite:///{folder / 'repayguard.db'}")
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()
    return folder


def test_check_accepts_the_shipped_policy(cn_file: Path) -> None:
    result = invoke("check", str(cn_file))
    assert result.exit_code == 0, result.output
    assert "is valid" in said(result)
    assert "cn-consumer-credit-line" in said(result)


def test_check_refuses_with_the_row_and_a_counter_example(tmp_path: Path) -> None:
    doc = yaml.safe_load(CN)
    doc["rows"][2]["then"]["manual_channels"] = ["bank_transfer"]  # failed-debits: paid only
    result = invoke("check", str(write_doc(tmp_path, "bad.yaml", doc)))
    assert result.exit_code == 1
    assert "failed-debits" in said(result)
    assert "G1" in said(result)
    as_json = json.loads(invoke("check", str(tmp_path / "bad.yaml"), "--json").output)
    assert as_json["valid"] is False
    assert as_json["problems"][0]["counter_example"]["failed_debits_30d"] == 3


def test_schema_prints_the_shipped_json_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    assert result.output == read_text("schemas/policy.schema.json")


def test_eval_decides_every_good_line_in_order_and_reports_bad_ones(
    cn_file: Path, tmp_path: Path
) -> None:
    lines = [
        json.dumps({"borrower_id": "B1", "tier": "T5", "dpd_now": 45}),
        "{not json",
        json.dumps({"tier": "T9"}),
        json.dumps({"tier": "T1", "open_appeal": False}),
        "",
        json.dumps({"failed_debits_30d": 2.5}),
    ]
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = invoke("eval", str(cn_file), "--input", str(source), "--out", str(target))
    assert result.exit_code == 1
    out = [json.loads(line) for line in target.read_text().splitlines()]
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 6]
    assert out[0]["borrower_id"] == "B1"
    assert out[0]["rule_id"] == "severe-delinquency"
    assert out[3]["rule_id"] == "low-risk"
    assert "not valid JSON" in out[1]["error"]
    assert "tier" in out[2]["error"]
    assert out[4]["error"] == "empty line"
    assert "whole number" in out[5]["error"]
    assert "2 of 6 lines decided" in said(result)
    assert "4 bad line(s)" in said(result)


def test_explain_shows_rows_outcome_and_what_would_change(cn_file: Path) -> None:
    result = invoke("explain", str(cn_file), "--input", '{"tier": "T4", "dpd_now": 12}')
    assert result.exit_code == 0, result.output
    assert "elevated-risk-late" in said(result)
    assert "What would change the outcome" in said(result)
    trace = json.loads(
        invoke("explain", str(cn_file), "--input", '{"tier": "T4", "dpd_now": 12}', "--json").output
    )
    assert trace["outcome"]["rule_id"] == "elevated-risk-late"
    assert trace["what_would_change"][0] == {
        "changes": [{"input": "dpd_now", "from": 12, "to": 0}],
        "distance": 1.0,
        "rule_id": "default",
        "states": {
            "auto_debit": "optional",
            "early_repayment": "allowed",
            "manual": "allowed",
            "manual_channels": ["app_balance", "bank_card", "counter", "bank_transfer"],
        },
        "loosens": ["auto_debit"],
    }
    bad = invoke("explain", str(cn_file), "--input", '{"tier": "T9"}')
    assert bad.exit_code == 3
    assert "tier" in said(bad)


def test_diff_of_two_files_lists_row_changes(cn_file: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load(CN)
    doc["rows"][4]["when"]["redraws_after_early_30d"] = ">= 1"
    del doc["rows"][6]
    after = write_doc(tmp_path, "after.yaml", doc)
    result = invoke("diff", str(cn_file), str(after))
    assert result.exit_code == 0, result.output
    assert "1 removed, 1 changed" in said(result)
    found = json.loads(invoke("diff", str(cn_file), str(after), "--json").output)
    assert {(r["row_id"], r["kind"]) for r in found["rows"]} == {
        ("loan-cycling", "changed"),
        ("elevated-risk-late", "removed"),
    }


def test_impact_over_a_portfolio_snapshot(cn_file: Path, tmp_path: Path) -> None:
    doc = yaml.safe_load(CN)
    doc["rows"][5]["then"]["early_repayment"] = "restricted"  # high-risk also restricts early
    candidate = write_doc(tmp_path, "candidate.yaml", doc)
    current = {
        "auto_debit": "mandatory",
        "early_repayment": "allowed",
        "manual": "allowed",
        "manual_channels": ["app_balance", "bank_card", "counter", "bank_transfer"],
    }
    snapshot = tmp_path / "portfolio.jsonl"
    snapshot.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"borrower_id": "B1", "tier": 5, "inputs": {"tier": "T5"}, "current": current},
                {
                    "borrower_id": "B2",
                    "tier": 1,
                    "inputs": {"tier": "T1"},
                    "current": {**current, "auto_debit": "optional"},
                },
                {"borrower_id": "B3", "tier": 5, "inputs": {"tier": "T5"}, "current": None},
            ]
        )
    )
    result = invoke("impact", str(candidate), "--portfolio", str(snapshot), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert (report["borrowers"], report["changed"], report["without_entitlement"]) == (3, 1, 1)
    assert report["by_method"]["early_repayment"] == {"tighten": 1, "loosen": 0}
    assert report["samples"][0]["borrower_id"] == "B1"
    table = invoke("impact", str(candidate), "--portfolio", str(snapshot))
    assert "1 of 3 borrowers' methods would change" in said(table)


def test_submit_publish_list_show_and_refer_to_versions(
    cn_file: Path, tmp_path: Path, data_dir: Path
) -> None:
    db = ("--data-dir", str(data_dir))
    upgraded = runner.invoke(cli_app, ["db", "upgrade", *db])
    assert upgraded.exit_code == 0, upgraded.output
    assert "In force: Policy cn-consumer-credit-line version 1" in said(upgraded)
    shipped = invoke("submit", str(cn_file), *db)
    assert shipped.exit_code == 0, shipped.output  # the shipped file is a draft source
    doc = yaml.safe_load(CN)
    doc["rows"][2]["then"]["manual"] = "allowed"
    changed = write_doc(tmp_path, "changed.yaml", doc)
    submitted = invoke("submit", str(changed), *db)
    assert submitted.exit_code == 0, submitted.output
    draft_id = submitted.output.split("Draft ")[1].split()[0]
    team(data_dir)
    nobody = invoke("publish", draft_id, "--as", "mallory", *db)
    assert nobody.exit_code == 3
    assert "the username or password is wrong" in said(nobody)  # names are not confirmed
    asked = invoke("publish", draft_id, "--as", "ann", *db)
    assert asked.exit_code == 0, asked.output
    assert "is pending until" in said(asked)
    request_id = said(asked).split("Approval request ")[1].split()[0]
    seeded = [(1, "system")]  # 'db upgrade' published the shipped policy as version 1
    listed = json.loads(invoke("list", "--json", *db).output)
    assert [(v["version"], v["published_by"]) for v in listed["items"]] == seeded
    own = approvals("approve", request_id, "--as", "ann", *db)
    assert own.exit_code == 3
    assert "may not approve or reject" in said(own)
    approved = approvals("approve", request_id, "--as", "bob", "--comment", "ok", *db)
    assert approved.exit_code == 0, approved.output
    assert "is approved" in said(approved)
    again = invoke("publish", draft_id, "--as", "ann", *db)
    assert again.exit_code == 3
    assert "already published" in said(again)
    listed = json.loads(invoke("list", "--json", *db).output)
    assert [(v["version"], v["published_by"]) for v in listed["items"]] == [
        (2, "ann, approved by bob"),
        *seeded,
    ]
    shown = invoke("show", "cn-consumer-credit-line@1", *db)
    assert shown.output.split("\n", 1)[1] == CN
    same = invoke("diff", "cn-consumer-credit-line@1", str(cn_file), "--json", *db)
    assert json.loads(same.output)["rows"] == []
    moved = invoke(
        "diff", "cn-consumer-credit-line@1", "cn-consumer-credit-line@latest", "--json", *db
    )
    assert [r["row_id"] for r in json.loads(moved.output)["rows"]] == ["failed-debits"]
    explained = invoke(
        "explain", "cn-consumer-credit-line@1", "--input", '{"open_appeal": true}', "--json", *db
    )
    assert json.loads(explained.output)["outcome"]["keep"] is True
    missing = invoke("show", "cn-consumer-credit-line@7", *db)
    assert missing.exit_code == 3
    assert "no published version 7" in said(missing)


def team(data_dir: Path) -> None:
    """An analyst (maker) and an approver (checker) in the data folder's database."""
    for name, role in (("ann", "analyst"), ("bob", "approver")):
        added = runner.invoke(
            cli_app, ["user", "add", name, "--role", role, "--data-dir", str(data_dir)]
        )
        assert added.exit_code == 0, added.output
        password = runner.invoke(
            cli_app,
            ["user", "password", name, "--password-stdin", "--data-dir", str(data_dir)],
            input=f"{OPERATOR_PASSWORD}\n",
        )
        assert password.exit_code == 0, password.output


def approvals(*args: str) -> Any:
    return runner.invoke(
        cli_app, ["approvals", *args], env={"COLUMNS": "200"}, input=f"{OPERATOR_PASSWORD}\n"
    )


def test_submitting_an_invalid_policy_lists_every_problem(tmp_path: Path, data_dir: Path) -> None:
    doc = yaml.safe_load(CN)
    doc["jurisdiction"] = "US"  # severe-delinquency and high-risk make auto-debit mandatory
    result = invoke("submit", str(write_doc(tmp_path, "us.yaml", doc)), "--data-dir", str(data_dir))
    assert result.exit_code == 3
    assert "severe-delinquency" in said(result)
    assert "high-risk" in said(result)
    assert "G2 (US)" in said(result)


def test_the_module_runs_as_a_command(cn_file: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    env["COLUMNS"] = "200"
    done = subprocess.run(
        [sys.executable, "-m", "repayguard.cli.policy", "check", str(cn_file)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "is valid" in done.stdout


def test_deciding_with_a_policy_file_warns_that_it_is_an_unpublished_override(
    cn_file: Path, data_dir: Path
) -> None:
    env = {"COLUMNS": "200", "REPAYGUARD_DECISIONS__POLICY_PATH": str(cn_file)}
    result = runner.invoke(cli_app, ["decide", "--all", "--data-dir", str(data_dir)], env=env)
    assert result.exit_code == 0, result.output
    assert f"WARNING development override in effect (policy: {cn_file})" in said(result)
    assert "stamped 'unpublished'" in said(result)
    refused = runner.invoke(cli_app, ["decide", "--all", "--json", "--data-dir", str(data_dir)])
    assert "WARNING" not in said(refused)
    assert refused.exit_code == 3, "the store published nothing"
    problem = json.loads(refused.stdout)
    assert problem["code"] == PolicyNotInForce.code
    assert "no version of policy 'cn-consumer-credit-line'" in problem["detail"]
    assert "repayguard db upgrade" in problem["hint"]
