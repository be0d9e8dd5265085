"""Training end to end: honest cross-validation, calibration, and models that drive decide()."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from scoring_data import german_credit_path, inputs_of, table

from repayguard.core.features import FEATURE_NAMES
from repayguard.core.labels import build_training_set
from repayguard.core.pipeline import decide, empty_previous
from repayguard.core.policy import compile_policy, load_policy
from repayguard.core.reasons import CATALOG
from repayguard.core.scoring import TrainingSettings, feature_inputs, tabular_inputs, train
from repayguard.core.tiers import load_bands
from repayguard.resources import read_text
from repayguard.simulation import PortfolioSpec, generate_portfolio


def test_a_scorecard_on_german_credit_cross_validates_above_0_77() -> None:
    frame = pl.read_csv(german_credit_path())
    y = (frame["creditability"] == "bad").cast(pl.Int8).to_numpy()
    data = frame.drop("creditability")
    steps: list[str] = []
    trained = train(
        data, y, tabular_inputs(data.schema, ()), TrainingSettings("scorecard", cv=5),
        version="german", target_name="bad", progress=steps.append,
    )  # fmt: skip
    assert trained.cross_validation is not None
    assert trained.cross_validation.mean >= 0.77
    assert len(trained.cross_validation.folds) == 5
    assert steps == [*(f"fold {n} of 5" for n in range(1, 6)), "final fit"]
    assert trained.holdout_pd is not None
    assert trained.holdout_pd.mean() == pytest.approx(0.3, abs=0.02)
    assert trained.calibrated_on == "out-of-fold scores"


def test_without_cross_validation_calibration_uses_the_training_scores() -> None:
    frame, y = table(rows=2000)
    trained = train(
        frame, y, inputs_of(frame), TrainingSettings("lightgbm", cv=0, params={"trees": 20}),
        version="x", target_name="y",
    )  # fmt: skip
    assert trained.cross_validation is None
    assert trained.holdout_pd is None
    assert trained.calibrated_on == "training scores"
    assert trained.model.calibration.method == "platt"


def test_cross_validation_needs_both_outcomes_in_every_fold() -> None:
    frame, _ = table(rows=100)
    y = np.zeros(100, dtype=np.int8)
    y[:3] = 1
    with pytest.raises(ValueError, match="at least 5 rows of each outcome"):
        train(frame, y, inputs_of(frame), TrainingSettings("scorecard"), version="x",
              target_name="y")  # fmt: skip


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    out: Path = tmp_path_factory.mktemp("portfolio")
    generate_portfolio(PortfolioSpec(borrowers=3000, months=12, seed=5), out, workers=1)
    return pl.read_parquet(out / "events-*.parquet")


@pytest.mark.parametrize("kind", ["scorecard", "lightgbm"])
def test_models_trained_on_event_history_drive_the_decision_pipeline(
    portfolio: pl.DataFrame, kind: str
) -> None:
    dates = [datetime(2025, m, 1, tzinfo=UTC) for m in (4, 5, 6, 7)]
    rows = build_training_set(portfolio, dates, observed_until=datetime(2026, 1, 1, tzinfo=UTC))
    settings = TrainingSettings(kind, cv=0, params={"trees": 50} if kind == "lightgbm" else {})
    trained = train(
        rows, rows["label"].to_numpy(), feature_inputs(FEATURE_NAMES), settings,
        version=f"{kind}-test", target_name="30+ dpd",
    )  # fmt: skip
    decisions = decide(
        portfolio,
        as_of=datetime(2025, 11, 1, tzinfo=UTC),
        model=trained.model,
        bands=load_bands(read_text("tiers/bands-v1.json")),
        policy=compile_policy(load_policy(read_text("policies/cn-default.yaml"))),
        previous=empty_previous(),
    )
    assert decisions.height == 3000
    assert decisions["model_version"].unique().to_list() == [f"{kind}-test"]
    assert 0.005 < decisions["pd"].mean() < 0.2  # type: ignore[operator]
    assert decisions["tier"].n_unique() >= 3
    codes = {c for reasons in decisions["reasons"].to_list() for c in reasons}
    assert codes <= set(CATALOG)
