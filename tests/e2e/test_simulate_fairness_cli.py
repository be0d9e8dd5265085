"""``repayguard simulate`` and fairness: the group table, a warning line per group past the
configured threshold (read from settings), and ``--save`` for the console."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from repayguard import resources
from repayguard.cli.app import app
from repayguard.simulation import PortfolioSpec, draw_groups, list_runs
from repayguard.simulation import simulator as simulator_module

SEED, BORROWERS = 9, 600


def _regional(monkeypatch: pytest.MonkeyPatch) -> None:
    """Decisions of the policy named ``regional`` restrict early repayment in the north only
    (from the next day); every other policy decides as production does."""
    north = {
        b
        for s in (SEED, SEED + 1)
        for b in draw_groups(PortfolioSpec(borrowers=BORROWERS, months=3, seed=s))
        .filter(pl.col("region") == "north")["borrower_id"]
        .to_list()
    }  # both seeds' north: a borrower id means a different borrower per seed
    seeds = {"calls": 0}
    real = simulator_module.decide

    def decide(events: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
        decisions = real(events, **kwargs)
        if kwargs["policy"].policy.name != "regional":
            return decisions
        seed = SEED + seeds["calls"] // 2  # two month-end decisions per run, seeds in order
        seeds["calls"] += 1
        mine = set(
            draw_groups(PortfolioSpec(borrowers=BORROWERS, months=3, seed=seed))
            .filter(pl.col("region") == "north")["borrower_id"]
            .to_list()
        )
        assert mine <= north
        hit = decisions["borrower_id"].is_in(list(mine))
        return decisions.with_columns(
            pl.when(hit).then(pl.lit("restricted")).otherwise(pl.lit("allowed"))
            .alias("early_repayment"),
            pl.lit("optional").alias("auto_debit"),
            pl.lit("allowed").alias("manual"),
        )  # fmt: skip

    monkeypatch.setattr(simulator_module, "decide", decide)


def _files(tmp_path: Path) -> tuple[Path, Path]:
    none = tmp_path / "none.yaml"
    text = resources.read_text("simulation/no-restriction.yaml")
    none.write_text(text, encoding="utf-8")
    regional = tmp_path / "regional.yaml"
    regional.write_text(text.replace("name: no-restriction", "name: regional"), encoding="utf-8")
    return none, regional


def _args(tmp_path: Path, *extra: str) -> list[str]:
    none, regional = _files(tmp_path)
    return ["simulate", "--policy", str(none), "--vs", str(regional), "--borrowers",
            str(BORROWERS), "--months", "3", "--seeds", "2", "--seed", str(SEED), "--workers",
            "1", "--data-dir", str(tmp_path / "data"), *extra]  # fmt: skip


def test_a_policy_restricting_one_region_is_warned_in_the_terminal_and_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _regional(monkeypatch)
    monkeypatch.setenv("REPAYGUARD_FAIRNESS__MAX_DISPARITY_RATIO", "1.5")

    result = CliRunner().invoke(app, _args(tmp_path, "--save"), terminal_width=160)

    assert result.exit_code == 0, result.output
    assert "region=north" in result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("Warning:")]
    assert warnings, result.output
    assert all("region=north" in line and "threshold 1.50" in line for line in warnings)
    assert any("early repayment restricted" in line for line in warnings)
    runs = list_runs(tmp_path / "data" / "simulations")
    assert len(runs) == 1
    assert runs[0].summary["warnings"]
    assert f"Saved as {runs[0].run_id}" in result.output


def test_the_json_carries_the_threshold_and_groups_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPAYGUARD_FAIRNESS__MAX_DISPARITY_RATIO", "2.0")
    monkeypatch.setenv("REPAYGUARD_FAIRNESS__PROTECTED_ATTRIBUTES", '["region", "income"]')

    result = CliRunner().invoke(app, _args(tmp_path, "--json"))

    assert result.exit_code == 0, result.output
    fairness = json.loads(result.stdout)["fairness"]
    assert fairness["threshold"] == 2.0
    assert fairness["attributes"] == ["region"]  # simulated borrowers have no income group
    assert {r["attribute"] for r in fairness["by_group"]["A"]["restricted"]} == {"region"}
    assert not (tmp_path / "data" / "simulations").exists()  # saved only when asked
