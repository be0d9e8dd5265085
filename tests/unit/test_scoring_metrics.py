"""Metrics, calibration and stability in plain numpy, checked against scikit-learn."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scoring_data import inputs_of, table
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score, roc_curve

from repayguard.core.scoring import Calibration, evaluate_scores, fit_calibration
from repayguard.core.scoring import metrics as m
from repayguard.core.scoring.profile import build_profile, profile_column


@settings(max_examples=60, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.integers(0, 1), st.sampled_from([0.1, 0.2, 0.2, 0.5, 0.9, 0.95])),
        min_size=2,
        max_size=60,
    )
)
def test_auc_and_ks_match_scikit_learn_with_ties(pairs: list[tuple[int, float]]) -> None:
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs])
    if y.min() == y.max():
        assert np.isnan(m.auc(y, s))
        return
    assert m.auc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    fpr, tpr, _ = roc_curve(y, s)
    assert m.ks(y, s) == pytest.approx(float(np.max(tpr - fpr)), abs=1e-12)
    assert m.gini(y, s) == pytest.approx(2 * roc_auc_score(y, s) - 1, abs=1e-12)


def test_brier_and_log_loss_match_scikit_learn() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 500)
    p = rng.uniform(0.01, 0.99, 500)
    assert m.brier(y, p) == pytest.approx(brier_score_loss(y, p))
    assert m.log_loss(y, p) == pytest.approx(log_loss(y, p))


def test_calibration_table_cuts_rows_into_equal_groups_by_pd() -> None:
    p = np.linspace(0.01, 0.5, 1000)
    y = (np.arange(1000) % 10 == 0).astype(int)
    rows = m.calibration_table(y, p, groups=10)
    assert [r.rows for r in rows] == [100] * 10
    assert [r.mean_pd for r in rows] == sorted(r.mean_pd for r in rows)
    assert sum(r.events for r in rows) == 100


def test_psi_is_zero_for_the_same_shares_and_grows_with_the_shift() -> None:
    base = [0.25, 0.25, 0.25, 0.25]
    assert m.psi(base, base) == 0.0
    small = m.psi(base, [0.3, 0.25, 0.25, 0.2])
    large = m.psi(base, [0.7, 0.1, 0.1, 0.1])
    assert 0 < small < 0.1 < 0.25 < large
    assert np.isfinite(m.psi(base, [1.0, 0.0, 0.0, 0.0]))


def test_a_profile_measures_new_data_against_the_training_bins() -> None:
    frame, _ = table(rows=5000, seed=3)
    profile = build_profile(frame, inputs_of(frame), np.linspace(0.01, 0.3, 5000))
    same, _ = table(rows=5000, seed=4)
    shifted = same.with_columns(pl.col("debt") * 2, pl.lit("C").alias("region"))
    _, stable = profile.psi(same, pl.Series(np.linspace(0.01, 0.3, 5000)))
    _, moved = profile.psi(shifted, pl.Series(np.linspace(0.01, 0.3, 5000)))
    assert max(stable.values()) < 0.02
    assert moved["debt"] > 0.25
    assert moved["region"] > 0.25
    assert moved["noise"] < 0.02
    assert profile.from_dict(profile.as_dict()) == profile


def test_a_column_profile_keeps_the_missing_share_apart() -> None:
    column = profile_column("x", pl.Series([1.0, None, 3.0, None]), categorical=False)
    assert column.missing == 0.5
    assert column.psi(pl.Series([1.0, 3.0, 1.0, 3.0])) > 1.0


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibration_matches_the_observed_rate_and_keeps_the_order(method: str) -> None:
    rng = np.random.default_rng(1)
    raw = rng.normal(size=20_000)
    truth = 1 / (1 + np.exp(-(0.5 * raw - 3.0)))  # the raw score is overconfident
    y = (rng.random(20_000) < truth).astype(int)
    calibration = fit_calibration(raw, y, method)
    pd = calibration.apply(raw)
    assert pd.mean() == pytest.approx(y.mean(), rel=0.05)
    order = np.argsort(raw)
    assert np.all(np.diff(pd[order]) >= -1e-15)
    assert Calibration.from_dict(calibration.as_dict()) == calibration
    if method == "platt":
        assert (calibration.a, calibration.b) == (
            pytest.approx(-3.0, abs=0.15),
            pytest.approx(0.5, abs=0.05),
        )


def test_no_calibration_is_the_logistic_of_the_raw_score() -> None:
    calibration = fit_calibration(np.array([0.0, 1.0]), np.array([0, 1]), "none")
    assert calibration.apply(np.array([0.0]))[0] == 0.5
    assert fit_calibration(np.array([0.0, 1.0]), np.array([1, 1]), "platt").method == "none"
    with pytest.raises(ValueError, match="unknown calibration"):
        fit_calibration(np.array([0.0]), np.array([1]), "magic")


def test_an_evaluation_reports_every_figure_and_a_thinned_roc() -> None:
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 10_000)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, 10_000), 1e-4, 1 - 1e-4)
    evaluation = evaluate_scores(y, p)
    assert evaluation.rows == 10_000
    assert evaluation.auc == pytest.approx(roc_auc_score(y, p))
    assert len(evaluation.roc[0]) <= 260
    edges, events, nonevents = evaluation.histogram
    assert sum(events) + sum(nonevents) == 10_000
    assert len(edges) == len(events) + 1
    assert evaluation.psi is None
    assert set(evaluation.as_dict()) >= {"auc", "ks", "gini", "calibration", "roc", "histogram"}
