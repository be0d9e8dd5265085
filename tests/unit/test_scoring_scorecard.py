"""The scorecard: a frozen points table that reproduces the fitted regression, scored fast."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scoring_data import inputs_of, table
from sklearn.linear_model import LogisticRegression

from repayguard.core.scoring import RiskModel, TrainedModel, fit_model, load_model
from repayguard.core.scoring.scorecard import (
    FILE,
    ScorecardInvalid,
    ScorecardModel,
    dump_scorecard,
    load_scorecard,
)

FRAME, Y = table()
INPUTS = inputs_of(FRAME)
MODEL = fit_model("scorecard", FRAME, Y, INPUTS, version="sc-test")
assert isinstance(MODEL, ScorecardModel)


def test_a_scorecard_is_a_risk_model_and_a_trained_model() -> None:
    assert isinstance(MODEL, RiskModel)
    assert isinstance(MODEL, TrainedModel)
    assert (MODEL.version, MODEL.kind) == ("sc-test", "scorecard")


def test_points_reproduce_a_logistic_regression_fitted_on_the_woe_of_the_bins() -> None:
    woe_features = [
        replace(
            f,
            bins=tuple(replace(b, points=b.woe) for b in f.bins),
            missing=replace(f.missing, points=f.missing.woe),
        )
        for f in MODEL.features
    ]
    woe = np.column_stack([f.points_of(FRAME) for f in woe_features])
    reference = LogisticRegression(C=1.0, max_iter=2000, tol=1e-8).fit(woe, Y)
    expected = reference.predict_proba(woe)[:, 1]
    raw = MODEL.raw_score(FRAME)
    assert np.allclose(1 / (1 + np.exp(-raw)), expected, atol=1e-9)


def test_more_evidence_of_good_never_means_more_points() -> None:
    for feature in MODEL.features:
        for b in (*feature.bins, feature.missing):
            assert b.points * b.woe <= 0 or math.isclose(b.points, 0, abs_tol=1e-12)


def test_the_true_drivers_are_kept_and_noise_is_dropped_with_the_reason() -> None:
    assert {f.name for f in MODEL.features} == {"debt", "income", "region"}
    assert dict(MODEL.dropped)["noise"].startswith("information value")


def test_points_rise_with_debt_and_fall_with_income() -> None:
    by_name = {f.name: f for f in MODEL.features}
    debt = [b.points for b in by_name["debt"].bins]
    income = [b.points for b in by_name["income"].bins]
    assert debt == sorted(debt)
    assert income == sorted(income, reverse=True)


def test_the_stored_document_scores_identically() -> None:
    text = dump_scorecard(MODEL)
    again = load_model("scorecard", {FILE: text})
    assert again.raw_score(FRAME).tolist() == MODEL.raw_score(FRAME).tolist()
    assert dump_scorecard(load_scorecard(text)) == text


def test_null_nan_and_unseen_categories_score_the_missing_bin() -> None:
    probe = pl.DataFrame(
        {"debt": [1.0, float("nan")], "income": [None, 5.0], "region": ["Z", None]},
        schema={"debt": pl.Float64, "income": pl.Float64, "region": pl.String},
    )
    points = MODEL.points(probe)
    by_name = {f.name: n for n, f in enumerate(MODEL.features)}
    missing = {f.name: f.missing.points for f in MODEL.features}
    assert points[0, by_name["income"]] == missing["income"]
    assert points[0, by_name["region"]] == points[1, by_name["region"]] == missing["region"]
    assert points[1, by_name["debt"]] == missing["debt"]


def test_scoring_a_large_frame_at_once_equals_scoring_it_in_slices() -> None:
    big = pl.concat([FRAME] * 80)
    whole = MODEL.raw_score(big)
    parts = [MODEL.raw_score(big.slice(i, 50_000)) for i in range(0, big.height, 50_000)]
    assert whole.tolist() == np.concatenate(parts).tolist()


def test_vectorized_points_equal_the_row_wise_bins() -> None:
    by_expression = MODEL.points(FRAME)
    by_bin = np.column_stack([f.points_of(FRAME) for f in MODEL.features])
    assert by_expression.tolist() == by_bin.tolist()


def test_pd_keeps_row_order_and_lies_strictly_between_0_and_1() -> None:
    pd = MODEL.predict_pd(FRAME)
    assert (pd.name, pd.dtype, pd.len()) == ("pd", pl.Float64, FRAME.height)
    assert 0 < pd.min() < pd.max() < 1  # type: ignore[operator]
    reversed_pd = MODEL.predict_pd(FRAME.reverse())
    assert reversed_pd.reverse().to_list() == pd.to_list()


def test_reasons_name_inputs_above_their_best_bin_largest_excess_first() -> None:
    reasons = MODEL.reasons(FRAME, top=4)
    points = MODEL.points(FRAME)
    best = np.array([f.best_present_points for f in MODEL.features])
    codes = [f.input.reason_code for f in MODEL.features]
    present = np.column_stack([~np.isnan(f.values(FRAME)) for f in MODEL.features])
    assert not present.all()  # some incomes are missing: those name no reason (no code for it)
    for row in range(200):
        excess = np.where(present[row], points[row] - best, 0.0)
        expected = [codes[i] for i in np.argsort(-excess, kind="stable") if excess[i] > 0]
        assert reasons[row].to_list() == expected[:4]
    assert max(reasons.list.len()) <= 3  # three inputs kept
    assert MODEL.reasons(FRAME, top=1).list.len().max() == 1


def test_the_riskiest_rows_are_explained_by_debt() -> None:
    riskiest = FRAME.with_columns(pl.Series("pd", MODEL.predict_pd(FRAME))).sort("pd").tail(20)
    assert all(r[0] in ("DEBT", "REGION", "INCOME") for r in MODEL.reasons(riskiest).to_list())
    assert "DEBT" in {r[0] for r in MODEL.reasons(riskiest).to_list()}


def test_inputs_of_the_wrong_sign_next_to_the_others_are_dropped() -> None:
    rng = np.random.default_rng(3)
    a = rng.normal(size=6000)
    b = a + 0.3 * rng.normal(size=6000)
    y = (rng.random(6000) < 1 / (1 + np.exp(-(-1.0 + 2.0 * a - 1.5 * b)))).astype(np.int8)
    frame = pl.DataFrame({"a": a, "b": b})
    model = fit_model("scorecard", frame, y, inputs_of(frame))
    assert [f.name for f in model.inputs] == ["a"]
    assert "wrong sign" in dict(model.dropped)["b"]  # type: ignore[attr-defined]


def test_a_target_with_one_class_is_refused() -> None:
    with pytest.raises(ScorecardInvalid, match="single class"):
        fit_model("scorecard", FRAME, np.zeros(FRAME.height), INPUTS)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("features", "N", "bins", 0, "upper"), 1e9, "ascend"),
        (("features", "N", "bins", -1, "upper"), 5.0, "last bin"),
        (("scale",), 0.0, "positive"),
        (("format",), "other/1", "format"),
        (("intercept",), "x", "not a valid scorecard"),
    ],
)
def test_a_damaged_points_table_is_refused(
    path: tuple[str | int, ...], value: object, message: str
) -> None:
    doc = json.loads(dump_scorecard(MODEL))
    numeric = next(n for n, f in enumerate(doc["features"]) if f["kind"] == "numeric")
    keys = [numeric if key == "N" else key for key in path]  # "N": a numeric input
    node = doc
    for key in keys[:-1]:
        node = node[key]
    node[keys[-1]] = value
    with pytest.raises(ScorecardInvalid, match=message):
        load_scorecard(json.dumps(doc))


def test_scoring_a_frame_without_an_input_fails_clearly() -> None:
    with pytest.raises(ValueError, match="lacks"):
        MODEL.predict_pd(FRAME.drop("debt"))


_COUNT_ROWS = pl.DataFrame({"k": np.r_[np.arange(3000) % 7, np.arange(3000) % 11 + 3]})
COUNTS = fit_model(
    "scorecard", _COUNT_ROWS, np.repeat([0, 1], 3000).astype(np.int8), inputs_of(_COUNT_ROWS)
)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.none(), st.integers(-(2**31) + 1, 2**31 - 1), st.integers(-5, 40)),
        min_size=1,
        max_size=50,
    )
)
def test_integer_inputs_scored_by_lookup_equal_the_same_values_scored_as_floats(
    values: list[int | None],
) -> None:
    frame = pl.DataFrame({"k": values}, schema={"k": pl.Int64})
    floats = frame.cast(pl.Float64)
    assert COUNTS.raw_score(frame).tolist() == COUNTS.raw_score(floats).tolist()
