"""``repayguard`` in scripts: ``--version``, ``--json`` on every command that lists or reports
(found by walking the command tree, so a new command without it fails here), and the exit
codes of ``repayguard.cli.exits`` (0 ok, 1 findings, 2 usage, 3 refused, 4 unavailable)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner, Result

from repayguard import __version__
from repayguard.cli import exits
from repayguard.cli.app import app
from repayguard.resources import read_text

from support.builders import failing_debits_history, healthy_history
from support.common import NOW, OPERATOR_PASSWORD

REPAYGUARD = str(Path(sys.executable).parent / "repayguard")
runner = CliRunner()

EXEMPT = {
    # Long-running processes: they serve or work until stopped, there is no report to print.
    "serve": "serves the API until interrupted",
    "worker": "runs jobs until interrupted (its --once pass logs each job)",
    "demo": "a guided tour for a person: generates, decides and serves",
    # Writes a document; the document is the output.
    "simulate-case-study": "writes docs/case-study.md; the Markdown file is its output",
    "policy schema": "prints the JSON Schema itself (already JSON)",
    "policy export-jdm": "writes a JDM graph file; the file is its output",
    # Actions: they change one thing and say so in one line; scripts read the exit code (0
    # done, 3 refused with the reason on stderr) and list or show the result with --json.
    "approvals approve": "an action; 'approvals show ID --json' reports the request",
    "approvals reject": "an action; 'approvals show ID --json' reports the request",
    "approvals withdraw": "an action; 'approvals show ID --json' reports the request",
    "approvals override": "an action; 'approvals list --json' reports the request",
    "complaints resolve": "an action; 'complaints show ID --json' reports the complaint",
    "hardship close": "an action; 'hardship show ID --json' reports the arrangement",
    "incidents ack": "an action; 'incidents show ID --json' reports the incident",
    "incidents resolve": "an action; 'incidents show ID --json' reports the incident",
    "keys generate": "an action writing key files; 'audit verify --json' reports on them",
    "keys rotate": "an action writing key files; 'audit verify --json' reports on them",
    "model promote": "an action; 'model show VERSION --json' reports the model",
    "overlays arm": "an action; 'overlays list --json' reports the overlays",
    "overlays lift": "an action; 'overlays list --json' reports the overlays",
    "overlays review": "an action; 'overlays list --json' reports the overlays",
    "playbooks submit": "an action; 'playbooks list --json' reports the playbooks",
    "playbooks request-approval": "an action; 'approvals list --json' reports the request",
    "policy submit": "an action; 'policy list --json' reports drafts and versions",
    "policy publish": "an action; 'policy list --json' reports drafts and versions",
    "policy import-jdm": "an action writing a graph document (its refusals exit 1)",
    "shadow set": "an action; 'shadow status --json' reports the shadow policy",
    "shadow clear": "an action; 'shadow status --json' reports the shadow policy",
    "token revoke": "an action; 'token list --json' reports the tokens",
    "user disable": "an action; 'user list --json' reports the operators",
    "user password": "an action (the password is read, never printed)",
}

# Commands whose --json output needs a complaint, a hardship case, an incident, a challenger
# policy, a fairness table or a long simulation: the named end-to-end test parses it.
COVERED_ELSEWHERE = {
    "audit verify": "test_audit_cli",
    "complaints show": "test_complaints_cli",
    "hardship open": "test_hardship_cli",
    "hardship show": "test_hardship_cli",
    "incidents show": "test_incidents_cli",
    "monitor metrics": "test_monitor_cli",
    "monitor stress": "test_market_stress",
    "policy impact": "test_shadow_cli",
    "policy replay": "test_shadow_cli",
    "simulate": "test_simulate_cli",
}


def commands() -> Iterator[tuple[str, Any]]:
    """Every command of the tree, by its full name (a group that runs by itself included)."""

    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        subcommands = getattr(command, "commands", None)
        if subcommands is None or (path and command.params):
            yield " ".join(path), command
        for name, sub in (subcommands or {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(app), [])


def has_json(command: Any) -> bool:
    return any("--json" in getattr(p, "opts", ()) for p in command.params)


def run(data_dir: Path | None, *args: str) -> Result:
    """The command in this process, with the operators' password typed at any prompt."""
    where = ["--data-dir", str(data_dir)] if data_dir is not None else []
    return runner.invoke(
        app,
        [*args, *where],
        env={"COLUMNS": "200"},
        input=f"{OPERATOR_PASSWORD}\n",
    )


def process(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REPAYGUARD_")}
    return subprocess.run(
        [REPAYGUARD, *args],
        cwd=cwd,
        env={**clean, "COLUMNS": "160", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def book(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A data folder with two decided borrowers, a team, a pending override, a policy file,
    an input file for ``policy eval``, an events file and a score-able frame."""
    root = tmp_path_factory.mktemp("scripting")
    folder = root / "data"
    history = root / "history.jsonl"
    events = failing_debits_history("B1", NOW) + healthy_history("B2", NOW)
    history.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    landed = run(folder, "ingest", str(history))  # lands and decides both borrowers
    assert landed.exit_code == 0, landed.output
    team = {"cara": "cs_agent", "pat": "approver", "amy": "admin"}
    for name in team:
        added = run(folder, "user", "add", name, "--role", team[name])
        assert added.exit_code == 0, added.output
        assert run(folder, "user", "password", name, "--password-stdin").exit_code == 0
    asked = run(
        folder, "approvals", "override", "B1", "--as", "cara",
        "--auto-debit", "optional", "--early-repayment", "allowed", "--manual", "allowed",
        "--channel", "app_balance", "--days", "14", "--note", "call",
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    playbook = root / "playbook.yaml"
    playbook.write_text(read_text("playbooks/market-stress.yaml"), encoding="utf-8")
    submitted = run(folder, "playbooks", "submit", str(playbook), "--as", "amy")
    assert submitted.exit_code == 0, submitted.output
    policy = root / "cn.yaml"
    policy.write_text(read_text("policies/cn-default.yaml"), encoding="utf-8")
    inputs = root / "inputs.jsonl"
    inputs.write_text('{"tier": "T4", "dpd_now": 12}\n', encoding="utf-8")
    source = root / "events.jsonl"
    source.write_text(
        "".join(json.dumps(e) + "\n" for e in failing_debits_history("B3", NOW)),
        encoding="utf-8",
    )
    frame = root / "frame.csv"
    draw = random.Random(3)
    rows = []
    for _ in range(400):
        income = draw.randint(1_000, 9_000)
        bad = draw.random() < (0.5 if income < 3_000 else 0.1)
        rows.append(f"{income},{draw.randint(20, 70)},{int(bad)}")
    frame.write_text("income,age,bad\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return {
        "data": folder,
        "root": root,
        "policy": policy,
        "inputs": inputs,
        "events": source,
        "frame": frame,
    }


def cases(book: dict[str, Path]) -> dict[str, list[str]]:
    """How to run each listing or reporting command against ``book``."""
    root, policy = book["root"], str(book["policy"])
    return {
        "approvals list": ["approvals", "list"],
        "approvals show": ["approvals", "show", "REQUEST"],
        "backup": ["backup", "--out", str(root / "backups")],
        "restore": ["restore", "BACKUP"],
        "approvals bulk-approve": ["approvals", "bulk-approve", "--as", "pat", "--comment", "ok"],
        "approvals expire": ["approvals", "expire"],
        "audit checkpoint": ["audit", "checkpoint"],
        "audit export": ["audit", "export", "--out", str(root / "audit.jsonl")],
        "complaints list": ["complaints", "list"],
        "db upgrade": ["db", "upgrade"],
        "decide": ["decide", "--borrower", "B1", "--borrower", "B2"],
        "decide runs": ["decide", "runs"],
        "generate": ["generate", "--out", str(root / "gen"), "--borrowers", "20", "--months", "2"],
        "hardship list": ["hardship", "list"],
        "incidents list": ["incidents", "list"],
        "ingest": ["ingest", str(book["events"])],
        "model list": ["model", "list"],
        "model train": [
            "model",
            "train",
            "--data",
            str(book["frame"]),
            "--target",
            "bad",
            "--cv",
            "0",
        ],
        "model evaluate": [
            "model",
            "evaluate",
            "--model",
            "scorecard-v1",
            "--data",
            str(book["frame"]),
            "--target",
            "bad",
            "--out",
            str(root / "evaluation"),
        ],
        "model show": ["model", "show", "scorecard-v1"],
        "model score": [
            "model",
            "score",
            "--model",
            "scorecard-v1",
            "--data",
            str(book["frame"]),
            "--out",
            str(root / "scored.csv"),
        ],
        "monitor catalogue": ["monitor", "catalogue"],
        "overlays list": ["overlays", "list"],
        "playbooks list": ["playbooks", "list"],
        "playbooks show": ["playbooks", "show", "PLAYBOOK", "1"],
        "policy check": ["policy", "check", policy],
        "policy diff": ["policy", "diff", policy, "cn-consumer-credit-line@1"],
        "policy eval": [
            "policy",
            "eval",
            policy,
            "--input",
            str(book["inputs"]),
            "--out",
            str(root / "decided.jsonl"),
        ],
        "policy explain": ["policy", "explain", policy, "--input", '{"tier": "T5"}'],
        "policy list": ["policy", "list"],
        "policy show": ["policy", "show", "cn-consumer-credit-line@1"],
        "replay": ["replay", "--verify"],
        "shadow disagreements": ["shadow", "disagreements"],
        "shadow status": ["shadow", "status"],
        "token create": ["token", "create", "--service", "scripts"],
        "token list": ["token", "list"],
        "user add": ["user", "add", "sam", "--role", "auditor"],
        "user list": ["user", "list"],
    }


def test_version_prints_the_package_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"repayguard {__version__}\n"


def test_every_command_is_either_scriptable_or_exempt_with_a_reason(
    book: dict[str, Path],
) -> None:
    known = cases(book)
    for name, command in commands():
        if name in EXEMPT:
            assert not has_json(command) or name == "policy schema", name
            continue
        assert has_json(command), f"'{name}' lists or reports but has no --json"
        assert name in known or name in COVERED_ELSEWHERE, f"'{name}' --json is not tested"
    named = {name for name, _ in commands()}
    assert set(EXEMPT) <= named
    assert set(COVERED_ELSEWHERE) <= named
    assert not set(known) & set(COVERED_ELSEWHERE)
    here = Path(__file__).parent
    for name, module in COVERED_ELSEWHERE.items():
        text = (here / f"{module}.py").read_text(encoding="utf-8")
        assert "--json" in text, (name, module)
        assert f'"{name.split()[-1]}"' in text, (name, module)


def test_json_output_parses_for_every_listing_and_reporting_command(
    book: dict[str, Path],
) -> None:
    known = cases(book)
    playbooks = run(book["data"], "playbooks", "list", "--json")
    assert playbooks.exit_code == 0, playbooks.output
    (submitted,) = json.loads(playbooks.stdout)
    known["playbooks show"][2:4] = [submitted["name"], str(submitted["version"])]
    (pending,) = json.loads(run(book["data"], "approvals", "list", "--json").stdout)["items"]
    known["approvals show"][2] = pending["request_id"]
    tree = dict(commands())
    documents: dict[str, Any] = {}
    for name, args in known.items():
        if name == "restore":  # the backup just written, into a data folder of its own
            (written,) = (book["root"] / "backups").iterdir()
            args = ["restore", str(written)]
            data: Path | None = book["root"] / "restored"
        else:
            takes_data = any("--data-dir" in getattr(p, "opts", ()) for p in tree[name].params)
            data = book["data"] if takes_data else None
        result = run(data, *args, "--json")
        assert result.exit_code == exits.OK, (name, result.output)
        documents[name] = json.loads(result.stdout)  # one document, nothing else on stdout
        assert isinstance(documents[name], dict | list), name
    datetime.fromisoformat(documents["token list"]["tokens"][0]["created"])  # ISO-8601
    assert documents["restore"]["ok"] is True


def test_a_usage_error_exits_2(tmp_path: Path) -> None:
    result = process("decide", "runs", "--no-such-option", cwd=tmp_path)
    assert result.returncode == exits.USAGE
    assert "No such option" in result.stderr


def test_a_domain_refusal_exits_3_with_the_reason_and_what_to_do(book: dict[str, Path]) -> None:
    text = process("policy", "show", "no-such-policy@1", "--data-dir", str(book["data"]),
                   cwd=book["root"])  # fmt: skip
    as_json = process("policy", "show", "no-such-policy@1", "--json", "--data-dir",
                      str(book["data"]), cwd=book["root"])  # fmt: skip

    assert text.returncode == exits.REFUSED, text.stderr
    assert text.stderr.startswith("error: ")
    assert text.stdout == ""
    assert "Traceback" not in text.stderr
    assert as_json.returncode == exits.REFUSED
    problem = json.loads(as_json.stdout)
    assert problem["code"] == "policy_version_not_found"
    assert problem["exit_code"] == exits.REFUSED
    assert problem["detail"] in as_json.stderr


def test_a_database_that_cannot_be_reached_exits_4(tmp_path: Path) -> None:
    down = "postgresql+psycopg://repayguard@127.0.0.1:1/test"  # nothing listens on port 1
    result = process("decide", "runs", "--json", cwd=tmp_path, REPAYGUARD_DATABASE__URL=down)

    assert result.returncode == exits.UNAVAILABLE, result.stderr
    assert json.loads(result.stdout)["code"] == "database_unavailable"
    assert "the database does not answer" in result.stderr
    assert "Traceback" not in result.stderr


def test_ingest_with_a_rejected_record_exits_1_and_0_when_partial_loads_are_allowed(
    tmp_path: Path,
) -> None:
    lines = [json.dumps(e) for e in healthy_history("B-PART", NOW)]
    lines.insert(1, "{not json")
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejected_only = tmp_path / "bad.jsonl"
    rejected_only.write_text("{not json\n", encoding="utf-8")
    data = ["--data-dir", str(tmp_path / "data"), "--no-decide"]

    strict = process("ingest", str(source), *data, cwd=tmp_path)
    partial = process("ingest", str(source), "--allow-partial", "--json", *data, cwd=tmp_path)
    nothing = process("ingest", str(rejected_only), "--allow-partial", *data, cwd=tmp_path)

    assert strict.returncode == exits.FINDINGS, strict.stderr
    assert "line 2 is not valid JSON" in " ".join(strict.stdout.split())
    assert partial.returncode == exits.OK, partial.stderr
    outcome = json.loads(partial.stdout)
    assert (outcome["accepted"], outcome["rejected"]) == (0, 1)  # all landed the first time
    assert outcome["duplicates"] == len(lines) - 1
    assert outcome["rejections"][0]["index"] == 1
    assert nothing.returncode == exits.FINDINGS  # nothing landed: a failure whatever the flag
