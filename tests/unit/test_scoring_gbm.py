"""The LightGBM challenger: its own text format, vocabularies, monotone inputs, reasons."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
from scoring_data import inputs_of, table

from repayguard.core.scoring import RiskModel, TrainedModel, fit_model, load_model
from repayguard.core.scoring.gbm import BOOSTER_FILE, META_FILE, GbmModel, GbmModelInvalid
from repayguard.core.scoring.inputs import InputColumn
from repayguard.core.scoring.metrics import auc

FRAME, Y = table(rows=3000, seed=1)
INPUTS = inputs_of(FRAME)
MODEL = fit_model("lightgbm", FRAME, Y, INPUTS, version="lgb-test", trees=60)
assert isinstance(MODEL, GbmModel)


def test_a_lightgbm_model_is_a_risk_model_and_a_trained_model() -> None:
    assert isinstance(MODEL, RiskModel)
    assert isinstance(MODEL, TrainedModel)
    assert (MODEL.version, MODEL.kind, MODEL.trees) == ("lgb-test", "lightgbm", 60)


def test_it_learns_the_drivers() -> None:
    held_out, y = table(rows=3000, seed=2)
    assert auc(y, MODEL.raw_score(held_out)) > 0.75
    assert MODEL.importance["debt"] > MODEL.importance["noise"]


def test_the_stored_files_are_lightgbm_text_and_json_and_score_identically() -> None:
    files = MODEL.files()
    assert files[BOOSTER_FILE].startswith("tree\n")
    assert json.loads(files[META_FILE])["vocabularies"] == {"region": ["A", "B", "C"]}
    again = load_model("lightgbm", files)
    assert again.raw_score(FRAME).tolist() == MODEL.raw_score(FRAME).tolist()


def test_unseen_categories_and_nulls_are_missing_values() -> None:
    probe = pl.DataFrame(
        {"debt": [1.0, 1.0], "income": [5.0, 5.0], "region": ["Z", None], "noise": [0.0, 0.0]}
    )
    matrix = MODEL.matrix(probe)
    assert np.isnan(matrix[:, 2]).all()


def test_contributions_add_up_to_the_raw_score_less_the_bias() -> None:
    contributions = MODEL.contributions(FRAME.head(50))
    raw = MODEL.raw_score(FRAME.head(50))
    bias = raw - contributions.sum(axis=1)
    assert np.allclose(bias, bias[0])


def test_reasons_are_the_inputs_pushing_the_score_up_most() -> None:
    head = FRAME.head(100)
    contributions = MODEL.contributions(head)
    codes = [i.reason_code for i in MODEL.inputs]
    reasons = MODEL.reasons(head, top=2)
    for row in range(100):
        c = contributions[row]
        expected = [codes[i] for i in np.argsort(-c, kind="stable") if c[i] > 0][:2]
        assert reasons[row].to_list() == expected


def test_declared_directions_become_monotone_constraints() -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(np.sin(3 * x) * 2)))).astype(np.int8)
    frame = pl.DataFrame({"x": x})
    rising = InputColumn("x", "numeric", "X", "x", "x", direction=1)
    model = fit_model("lightgbm", frame, y, [rising], trees=40)
    grid = pl.DataFrame({"x": np.linspace(-3, 3, 200)})
    assert np.all(np.diff(model.raw_score(grid)) >= 0)


def test_a_booster_that_does_not_match_its_document_is_refused() -> None:
    files = MODEL.files()
    meta = json.loads(files[META_FILE])
    meta["inputs"] = meta["inputs"][:2]
    with pytest.raises(GbmModelInvalid, match="inputs"):
        load_model("lightgbm", {BOOSTER_FILE: files[BOOSTER_FILE], META_FILE: json.dumps(meta)})
    with pytest.raises(GbmModelInvalid):
        load_model("lightgbm", {BOOSTER_FILE: "not a model", META_FILE: files[META_FILE]})
