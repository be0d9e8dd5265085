"""A collect policy whose rows clash behind many fillers is refused, with the clashing rows and
a borrower, by ``policy check``, ``policy submit``, ``POST /v1/policies/check`` and
``POST /v1/policies/drafts`` (the 48-row case once passed all four)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from repayguard.api.app import create_app
from repayguard.bootstrap import Container
from repayguard.cli.policy import policy_app
from repayguard.platform import schema
from repayguard.platform.db import make_engine

from support.merge import crowded_collect_yaml

BORROWER = {"dpd_now": 1, "failed_debits_30d": 3}
runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(policy_app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def crowded_file(tmp_path: Path) -> Path:
    path = tmp_path / "crowded.yaml"
    path.write_text(crowded_collect_yaml(45), encoding="utf-8")
    return path


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    with TestClient(create_app(container)) as http:
        yield http


def test_policy_check_refuses_the_48_row_case_with_the_rows_and_a_borrower(
    crowded_file: Path,
) -> None:
    shown = invoke("check", str(crowded_file))
    assert shown.exit_code == 1, shown.output
    text = " ".join(shown.output.split())
    assert all(word in text for word in ("failing", "'late'", "G1"))
    as_json = json.loads(invoke("check", str(crowded_file), "--json").output)
    assert as_json["valid"] is False
    [problem] = as_json["problems"]
    assert problem["row_id"] == "failing"
    assert problem["counter_example"] == BORROWER


def test_policy_submit_refuses_the_48_row_case(crowded_file: Path, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data_dir / 'repayguard.db'}")
    try:
        schema.upgrade(engine)
    finally:
        engine.dispose()
    result = invoke("submit", str(crowded_file), "--data-dir", str(data_dir))
    assert result.exit_code == 3, result.output
    text = " ".join(result.output.split())
    assert all(word in text for word in ("failing", "G1"))


def test_the_api_check_and_submit_refuse_the_48_row_case(client: TestClient) -> None:
    source = crowded_collect_yaml(45)
    checked = client.post("/v1/policies/check", json={"source": source}).json()
    assert checked["valid"] is False
    [problem] = checked["problems"]
    assert (problem["row_id"], problem["counter_example"]) == ("failing", BORROWER)
    submitted = client.post("/v1/policies/drafts", json={"source": source})
    assert submitted.status_code == 422
    body = submitted.json()
    assert body["code"] == "policy_rejected"
    [refusal] = body["extra"]["problems"]
    assert (refusal["row_id"], refusal["counter_example"]) == ("failing", BORROWER)
