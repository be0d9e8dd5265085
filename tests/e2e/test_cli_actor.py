"""Who acts from the CLI proves it: an operator token (``--token`` / ``REPAYGUARD_TOKEN``) or
the password of ``--as NAME`` typed at the prompt; a typed name alone acts for nobody, and
what no role governs is recorded as the operating-system user."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from repayguard.bootstrap import bootstrap
from repayguard.cli.actor import recorded_actor
from repayguard.cli.app import app
from repayguard.cli.shared import load_settings, one_shot
from repayguard.identity import CreateToken, create_token
from repayguard.ingestion import IngestEvents, ingest_events

from support.builders import failing_debits_history
from support.common import NOW, OPERATOR_PASSWORD

runner = CliRunner()


def run(data_dir: Path, *args: str, typed: str = "", token: str | None = None) -> Result:
    env = {"COLUMNS": "220"} | ({"REPAYGUARD_TOKEN": token} if token else {})
    return runner.invoke(
        app, [*args, "--data-dir", str(data_dir)], env=env, input=f"{typed}\n" if typed else None
    )


def said(result: Result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A team (cara asks, pat and paul approve), a borrower, and an override cara asked for."""
    folder = tmp_path / "data"
    with bootstrap(one_shot(load_settings(folder), online=True), migrate=True) as container:
        ingest_events(
            IngestEvents(failing_debits_history("B1", NOW), source="t"),
            uow=container.uow(),
            setup=container.ingest,
        )
    for name, role in (("cara", "cs_agent"), ("pat", "approver"), ("paul", "approver")):
        assert run(folder, "user", "add", name, "--role", role).exit_code == 0
        assert (
            run(
                folder, "user", "password", name, "--password-stdin", typed=OPERATOR_PASSWORD
            ).exit_code
            == 0
        )
    asked = run(
        folder, "approvals", "override", "B1", "--as", "cara", "--auto-debit", "optional",
        "--early-repayment", "allowed", "--manual", "allowed", "--channel", "app_balance",
        "--days", "14", typed=OPERATOR_PASSWORD,
    )  # fmt: skip
    assert asked.exit_code == 0, asked.output
    return folder


def tokens(data_dir: Path) -> dict[str, str]:
    with bootstrap(one_shot(load_settings(data_dir))) as container:
        return {
            "pat": create_token(CreateToken("operator", "pat"), uow=container.uow()).secret,
            "app": create_token(CreateToken("service", "app"), uow=container.uow()).secret,
        }


def pending_id(data_dir: Path) -> str:
    listed = run(data_dir, "approvals", "list", "--json")
    (request,) = json.loads(listed.stdout)["items"]
    return str(request["request_id"])


def test_a_name_without_proof_acts_for_nobody_and_says_how_to_authenticate(
    data_dir: Path,
) -> None:
    rid = pending_id(data_dir)
    bare = run(data_dir, "approvals", "approve", rid)
    assert bare.exit_code == 3
    assert "approving a request needs to know which operator acts" in said(bare)
    for way in ("--token", "REPAYGUARD_TOKEN", "repayguard token create --operator", "--as NAME"):
        assert way in said(bare)
    guessed = run(data_dir, "approvals", "approve", rid, "--as", "pat", typed="not-pats-password")
    assert guessed.exit_code == 3
    assert "the username or password is wrong" in said(guessed)
    assert "pending" in said(run(data_dir, "approvals", "show", rid))


def test_an_operator_token_proves_who_acts_and_no_other_token_does(data_dir: Path) -> None:
    rid = pending_id(data_dir)
    secrets = tokens(data_dir)
    service = run(data_dir, "approvals", "approve", rid, token=secrets["app"])
    assert service.exit_code == 3
    assert "a service token, not an operator's" in said(service)
    someone_else = run(data_dir, "approvals", "approve", rid, "--as", "paul", token=secrets["pat"])
    assert someone_else.exit_code == 3
    assert "the token is pat's, not paul's" in said(someone_else)

    approved = run(data_dir, "approvals", "approve", rid, "--token", secrets["pat"])

    assert approved.exit_code == 0, approved.output
    shown = said(run(data_dir, "approvals", "show", rid))
    assert "approved" in shown
    assert "pat at" in shown  # the checker recorded is the token's operator


def test_the_password_prompt_proves_who_acts(data_dir: Path) -> None:
    rid = pending_id(data_dir)
    approved = run(data_dir, "approvals", "approve", rid, "--as", "paul", typed=OPERATOR_PASSWORD)
    assert approved.exit_code == 0, approved.output
    assert "paul at" in said(run(data_dir, "approvals", "show", rid))


def test_what_no_role_governs_is_recorded_as_the_os_user_or_the_proven_operator(
    data_dir: Path,
) -> None:
    secrets = tokens(data_dir)
    with bootstrap(one_shot(load_settings(data_dir))) as container:
        assert recorded_actor(container, username=None, token=None) == f"cli:{getpass.getuser()}"
        assert recorded_actor(container, username=None, token=secrets["pat"]) == "pat"
