"""``repayguard simulate`` end to end: files in, the same JSON twice, an offline HTML page."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from repayguard import resources
from repayguard.cli.app import app


def _files(tmp_path: Path) -> tuple[Path, Path]:
    none = tmp_path / "none.yaml"
    none.write_text(resources.read_text("simulation/no-restriction.yaml"), encoding="utf-8")
    shipped = tmp_path / "shipped.yaml"
    shipped.write_text(resources.read_text("policies/cn-default.yaml"), encoding="utf-8")
    return none, shipped


def test_simulate_prints_the_same_json_for_the_same_seed_and_writes_html(tmp_path: Path) -> None:
    none, shipped = _files(tmp_path)
    page = tmp_path / "report.html"
    args = ["simulate", "--policy", str(none), "--vs", str(shipped), "--borrowers", "600",
            "--months", "3", "--seeds", "2", "--workers", "1", "--json"]  # fmt: skip
    first = CliRunner().invoke(app, [*args, "--html", str(page)])
    second = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    report = json.loads(first.stdout)
    assert report["arms"]["A"]["policy_version"] == "unpublished"
    assert report["metrics"]["notices"]["A"]["mean"] == 0.0  # nothing restricts in arm A
    assert report["metrics"]["notices"]["B"]["mean"] > 0.0
    html = page.read_text(encoding="utf-8")
    assert "Plotly" in html
    assert "<script src=" not in html  # plotly inlined: the page needs no network


def test_simulate_refuses_a_policy_it_cannot_find(tmp_path: Path) -> None:
    none, _ = _files(tmp_path)
    result = CliRunner().invoke(
        app, ["simulate", "--policy", str(none), "--vs", "no/such/file.yaml", "--seeds", "1"]
    )
    assert result.exit_code == 3
    assert "NAME@VERSION" in result.output
