"""The expert points model: loading, plausible PDs, monotonicity and reasons."""

from __future__ import annotations

import json
import math
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.features import FEATURE_SCHEMA, FEATURES
from repayguard.core.reasons import is_known
from repayguard.core.scoring import ExpertModel, ExpertModelInvalid, RiskModel, load_expert_model
from repayguard.resources import read_text

DOC = read_text("models/expert-v1.json")
MODEL = load_expert_model(DOC)

CLEAN: dict[str, Any] = {
    "borrower_id": "b",
    "dpd_now": 0,
    "max_dpd_90d": 0,
    "failed_debits_30d": 0,
    "on_time_ratio_180d": 1.0,
    "early_repayments_30d": 0,
    "redraws_after_early_30d": 0,
    "utilization": 0.1,
    "inflow_30d": 12000.0,
    "balance_now": 8000.0,
    "device_changes_30d": 0,
    "bureau_score": 780.0,
    "inquiries_90d": 0,
}


def borrower(**overrides: Any) -> dict[str, Any]:
    return {**CLEAN, **overrides}


def feats(*rows: dict[str, Any]) -> pl.DataFrame:
    return pl.DataFrame(list(rows), schema=FEATURE_SCHEMA)


def pd_of(**overrides: Any) -> float:
    return float(MODEL.predict_pd(feats(borrower(**overrides)))[0])


def test_shipped_model_satisfies_the_risk_model_protocol() -> None:
    assert isinstance(MODEL, RiskModel)
    assert (MODEL.version, MODEL.kind) == ("expert-v1", "expert-points")


def test_every_bin_of_the_shipped_model_is_documented() -> None:
    for f in MODEL.features:
        assert f.missing_description
        assert all(b.description for b in f.bins)


def test_a_clean_borrower_has_a_pd_below_one_percent() -> None:
    assert pd_of() == pytest.approx(0.008, abs=0.001)


def test_high_dpd_and_failed_debits_give_a_high_pd() -> None:
    assert pd_of(dpd_now=45, max_dpd_90d=45) > 0.5
    assert pd_of(failed_debits_30d=4, balance_now=-50.0, on_time_ratio_180d=0.5) > 0.15


def test_a_plausible_portfolio_has_a_mean_pd_of_a_few_percent() -> None:
    typical = [
        *[borrower()] * 42,
        *[borrower(bureau_score=690.0, utilization=0.5, inflow_30d=5000.0, balance_now=1500.0)]
        * 40,
        *[borrower(bureau_score=600.0, utilization=0.8, inquiries_90d=3, on_time_ratio_180d=0.9)]
        * 15,
        *[borrower(dpd_now=12, max_dpd_90d=12, failed_debits_30d=2, on_time_ratio_180d=0.7)] * 2,
        borrower(dpd_now=45, max_dpd_90d=45, failed_debits_30d=3, on_time_ratio_180d=0.4),
    ]
    mean = MODEL.predict_pd(feats(*typical)).mean()
    assert isinstance(mean, float)
    assert 0.02 <= mean <= 0.06


def test_pd_keeps_input_order_and_is_named_pd() -> None:
    out = MODEL.predict_pd(feats(borrower(dpd_now=40), borrower(), borrower(dpd_now=5)))
    assert out.name == "pd"
    assert out.dtype == pl.Float64
    assert out[0] > out[2] > out[1]


def test_missing_values_score_their_documented_missing_points() -> None:
    model_feature = next(f for f in MODEL.features if f.name == "bureau_score")
    with_none = pd_of(bureau_score=None, inquiries_90d=None)
    assert with_none > pd_of()
    assert model_feature.points_of(None) == model_feature.missing_points


RISING = [
    "dpd_now",
    "max_dpd_90d",
    "failed_debits_30d",
    "redraws_after_early_30d",
    "utilization",
    "device_changes_30d",
    "inquiries_90d",
    "early_repayments_30d",
]
FALLING = ["on_time_ratio_180d", "inflow_30d", "balance_now", "bureau_score"]

_values = st.floats(min_value=-1000, max_value=1000, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(
    name=st.sampled_from(RISING + FALLING),
    a=_values,
    b=_values,
    base=st.sampled_from([{}, {"dpd_now": 10}, {"bureau_score": None}]),
)
def test_pd_is_monotone_in_each_feature(
    name: str, a: float, b: float, base: dict[str, Any]
) -> None:
    low, high = sorted((a, b))
    integer = isinstance(FEATURE_SCHEMA[name], pl.Int32)
    lo_v, hi_v = (int(low), int(high)) if integer else (low, high)
    pd_low = pd_of(**{**base, name: lo_v})
    pd_high = pd_of(**{**base, name: hi_v})
    assert (pd_high >= pd_low) if name in RISING else (pd_high <= pd_low)


@settings(max_examples=60, deadline=None)
@given(value=st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), index=st.integers(0, 11))
def test_row_points_equal_vectorized_points(value: float | None, index: int) -> None:
    f = MODEL.features[index]
    vectorized = pl.DataFrame({f.name: [value]}, schema={f.name: pl.Float64}).select(
        f.points_expr()
    )
    assert vectorized.item() == f.points_of(value)


def test_reasons_name_only_factors_that_raise_risk_largest_first() -> None:
    out = MODEL.reasons(
        feats(borrower(), borrower(dpd_now=3, failed_debits_30d=3, utilization=0.7))
    )
    assert out.to_list() == [[], ["FAILED_DEBITS_30D", "DPD_NOW", "HIGH_UTILIZATION"]]


def test_reasons_are_limited_to_top() -> None:
    worst = borrower(
        dpd_now=90, max_dpd_90d=90, failed_debits_30d=5, utilization=1.0, bureau_score=400.0
    )
    out = MODEL.reasons(feats(worst), top=2)
    assert out.dtype == pl.List(pl.String)
    assert out.to_list() == [["DPD_NOW", "FAILED_DEBITS_30D"]]


def test_reason_codes_of_the_model_and_feature_set_are_in_the_catalog() -> None:
    assert all(is_known(f.reason_code) for f in MODEL.features)
    assert all(is_known(spec.reason_code) for spec in FEATURES)


def _doc(**changes: Any) -> str:
    doc = json.loads(DOC)
    doc.update(changes)
    return json.dumps(doc)


def test_bins_must_ascend() -> None:
    doc = json.loads(DOC)
    doc["features"][0]["bins"][0]["upper"] = 100
    with pytest.raises(ExpertModelInvalid, match="strictly ascending"):
        load_expert_model(json.dumps(doc))


def test_only_the_last_bin_is_unbounded() -> None:
    doc = json.loads(DOC)
    doc["features"][0]["bins"][-1]["upper"] = 1000
    with pytest.raises(ExpertModelInvalid, match="last bin"):
        load_expert_model(json.dumps(doc))


def test_unknown_features_and_bad_documents_are_refused() -> None:
    doc = json.loads(DOC)
    doc["features"][0]["name"] = "shoe_size"
    with pytest.raises(ExpertModelInvalid, match="declared feature set"):
        load_expert_model(json.dumps(doc))
    with pytest.raises(ExpertModelInvalid):
        load_expert_model(_doc(scale=0))
    with pytest.raises(ExpertModelInvalid):
        load_expert_model("{not json")


def test_scoring_a_frame_without_a_model_feature_fails_clearly() -> None:
    with pytest.raises(ValueError, match="lacks"):
        MODEL.predict_pd(pl.DataFrame({"dpd_now": [0]}))


def test_model_is_frozen() -> None:
    with pytest.raises(AttributeError):
        MODEL.intercept = 0.0  # type: ignore[misc]
    assert isinstance(MODEL, ExpertModel)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(
            st.none(),
            st.just(math.nan),
            st.floats(-1e6, 1e6, allow_nan=False),
            st.sampled_from([b.upper for f in MODEL.features for b in f.bins if b.upper]),
        ),
        max_size=20,
    ),
    index=st.integers(0, 11),
)
def test_numpy_points_equal_vectorized_points(values: list[float | None], index: int) -> None:
    f = MODEL.features[index]
    frame = pl.DataFrame({f.name: values}, schema={f.name: pl.Float64})
    expected = frame.select(f.points_expr())[f.name].to_list()
    array = frame[f.name].fill_null(math.nan).to_numpy()
    assert f.points_array(array).tolist() == expected
