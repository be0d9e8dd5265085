"""Counterfactuals that exist (issue 13, item 4): the nearest less restrictive row reachable by
changing actionable inputs only, one input or several, smallest change first; else why not."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.features import FEATURE_SCHEMA
from repayguard.core.policy import CompiledPolicy, compile_policy, load_policy
from repayguard.core.policy.counterfactual import ACTIONABLE, WHY_NONE, regions, search
from repayguard.core.policy.explain import explain
from repayguard.core.policy.inputs import coerce_inputs
from repayguard.core.policy.outcome import looser
from repayguard.core.risk_moves import tier_move
from repayguard.decisions import load_engine
from repayguard.resources import read_text

SHIPPED = {
    name: compile_policy(load_policy(read_text(f"policies/{name}.yaml")))
    for name in ("cn-default", "eu-example", "us-example")
}
CN = SHIPPED["cn-default"]
SEVERE = {
    "tier": "T5", "pd": 0.4, "dpd_now": 35, "max_dpd_90d": 40, "failed_debits_30d": 0,
    "on_time_ratio_180d": 0.5, "early_repayments_30d": 0, "redraws_after_early_30d": 0,
    "utilization": 0.9, "open_appeal": False, "open_hardship": False,
}  # fmt: skip


def _value(spec: Any) -> st.SearchStrategy[Any]:
    if spec.type == "boolean":
        return st.booleans()
    if spec.type == "string":
        return st.sampled_from(sorted(spec.enum or ["x"]))
    if spec.type == "integer":
        low = int(spec.minimum or 0)
        return st.integers(low, low + 70)
    return st.floats(spec.minimum or 0.0, spec.maximum or 2.0, allow_nan=False)


@st.composite
def policy_and_inputs(draw: st.DrawFn) -> tuple[CompiledPolicy, dict[str, Any]]:
    compiled = SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))]
    raw = {name: draw(_value(spec)) for name, spec in compiled.policy.inputs.items()}
    return compiled, coerce_inputs(compiled.policy, raw)


@settings(max_examples=300, deadline=None)
@given(policy_and_inputs())
def test_applying_a_suggestion_gives_a_less_restrictive_outcome_under_the_same_policy(
    case: tuple[CompiledPolicy, dict[str, Any]],
) -> None:
    compiled, inputs = case
    trace = explain(compiled, inputs)
    assert bool(trace.what_would_change) != bool(trace.why_none), "suggestions, or why none"
    distances = [a.distance for a in trace.what_would_change]
    sizes = {len(a.changes) for a in trace.what_would_change}
    assert len(sizes) <= 1, "only the fewest inputs that reach a looser row are suggested"
    assert distances == sorted(distances), "smallest change first"
    for alt in trace.what_would_change:
        after = compiled.evaluate_row(alt.applied_to(inputs))
        assert not after.keep
        assert after.rule_id == alt.rule_id
        assert looser(after.states(), trace.applied)
        for change in alt.changes:
            assert change.input in ACTIONABLE, "never tier, open cases or immutable facts"
            helps = ACTIONABLE[change.input]
            assert (change.after - change.before) * helps > 0, "only moves in the borrower's favour"


def test_several_inputs_are_changed_together_when_no_single_one_suffices() -> None:
    inputs = coerce_inputs(
        CN.policy, {"tier": "T4", "dpd_now": 5, "redraws_after_early_30d": 2, "open_appeal": False}
    )
    trace = explain(CN, inputs)
    assert trace.outcome["rule_id"] == "loan-cycling"
    (alt,) = trace.what_would_change
    assert [(c.input, c.before, c.after) for c in alt.changes] == [
        ("dpd_now", 5, 0),
        ("redraws_after_early_30d", 2, 1),
    ]
    assert alt.rule_id == "default"


def test_a_restriction_only_a_better_tier_lifts_says_so_and_names_what_helps() -> None:
    inputs = coerce_inputs(CN.policy, {"tier": "T5", "dpd_now": 0})
    trace = explain(CN, inputs)
    assert trace.outcome["rule_id"] == "high-risk"
    assert (trace.what_would_change, trace.why_none) == ((), "risk_tier")
    assert "paying instalments on time" in WHY_NONE["risk_tier"]["en"]
    assert "按时还款" in WHY_NONE["risk_tier"]["zh-CN"]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        ({"tier": "T1"}, "least_restrictive"),
        ({"tier": "T5", "dpd_now": 40, "open_appeal": True}, "kept"),
    ],
)
def test_an_empty_answer_states_its_reason(raw: dict[str, Any], why: str) -> None:
    trace = explain(CN, coerce_inputs(CN.policy, raw))
    assert (trace.what_would_change, trace.why_none) == ((), why)
    assert trace.as_dict()["why_none_text"] == WHY_NONE[why]["en"]


def test_every_reason_for_none_is_worded_in_both_languages() -> None:
    for code, texts in WHY_NONE.items():
        assert set(texts) == {"en", "zh-CN"}, code
        assert all(t.strip() for t in texts.values()), code


def test_a_search_that_runs_out_of_budget_says_so_rather_than_nothing() -> None:
    inputs = coerce_inputs(
        CN.policy, {"tier": "T4", "dpd_now": 5, "redraws_after_early_30d": 2, "open_appeal": False}
    )
    states = explain(CN, inputs).applied
    assert search(CN, inputs, states, budget=1).why_none == "search_budget"


# -- the tier, moved only through what moves it -------------------------------------------------

ENGINE = load_engine(policy_path=None, model_path=None, bands_path=None)
MOVE = tier_move(ENGINE.model, ENGINE.bands)
assert MOVE is not None, "the shipped expert model adds up per input"


@settings(max_examples=150, deadline=None)
@given(
    dpd=st.integers(0, 90),
    debits=st.integers(0, 6),
    ratio=st.floats(0, 1),
    new_dpd=st.integers(0, 90),
    new_ratio=st.floats(0, 1),
)
def test_the_modelled_pd_after_a_change_is_the_models_own(
    dpd: int, debits: int, ratio: float, new_dpd: int, new_ratio: float
) -> None:
    row = {**dict.fromkeys(FEATURE_SCHEMA.names()), "borrower_id": "b", "dpd_now": dpd,
           "max_dpd_90d": dpd, "failed_debits_30d": debits,
           "on_time_ratio_180d": ratio}  # fmt: skip
    before = pl.DataFrame([row], schema=FEATURE_SCHEMA)
    after = before.with_columns(
        pl.lit(new_dpd, pl.Int32).alias("dpd_now"), pl.lit(new_ratio).alias("on_time_ratio_180d")
    )
    pd, expected = ENGINE.model.predict_pd(before)[0], ENGINE.model.predict_pd(after)[0]
    inputs = {"pd": pd, "tier": "T5", "dpd_now": dpd, "on_time_ratio_180d": ratio}
    moved = MOVE.risk_after(inputs, {"dpd_now": new_dpd, "on_time_ratio_180d": new_ratio})
    bands = ENGINE.bands
    if moved is None:  # no better tier: the PD did not fall far enough below an edge
        assert expected >= min(pd, bands.upper_pd[3] * (1 - bands.margin)) - 1e-12
    else:
        assert moved.pd == pytest.approx(expected, rel=1e-9)
        assert moved.pd < bands.upper_pd[int(moved.tier[1:]) - 1] * (1 - bands.margin)


@settings(max_examples=200, deadline=None)
@given(policy_and_inputs(), st.floats(0.0005, 0.95))
def test_with_the_tier_modelled_a_suggestion_still_gives_a_looser_outcome(
    case: tuple[CompiledPolicy, dict[str, Any]], pd: float
) -> None:
    compiled, inputs = case
    inputs = {**inputs, "pd": pd} if "pd" in compiled.policy.inputs else inputs
    states = explain(compiled, inputs).applied
    found = search(compiled, inputs, states, risk=MOVE)
    assert bool(found.alternatives) != bool(found.why_none)
    for alt in found.alternatives:
        after = compiled.evaluate_row(alt.applied_to(inputs))
        assert not after.keep
        assert after.rule_id == alt.rule_id
        assert looser(after.states(), states)
        for change in alt.changes:
            if change.derived:
                assert change.input in ("tier", "pd")
                assert change.input != "tier" or change.after < change.before  # a better tier
            else:
                assert (change.after - change.before) * ACTIONABLE[change.input] > 0


def test_a_tier_only_restriction_is_lifted_through_what_moves_the_tier() -> None:
    raw = {**SEVERE, "dpd_now": 0, "max_dpd_90d": 10, "on_time_ratio_180d": 0.5, "pd": 0.3}
    inputs = coerce_inputs(CN.policy, raw)
    trace = explain(CN, inputs, risk=MOVE)
    assert trace.outcome["rule_id"] == "high-risk"
    first = trace.what_would_change[0]
    derived = [c for c in first.changes if c.derived]
    assert [c.input for c in derived] == ["tier", "pd"]
    assert (derived[0].before, derived[1].before) == ("T5", 0.3)
    assert derived[1].after < 0.2 * 0.9  # below the T4 edge by the margin
    assert {c.input for c in first.changes if not c.derived} <= set(ACTIONABLE)
    assert explain(CN, inputs).why_none == "risk_tier"  # without the model: said, not guessed


def test_an_inputs_regions_are_computed_once_per_compiled_policy() -> None:
    fresh = compile_policy(load_policy(read_text("policies/cn-default.yaml")))
    for name in fresh.inputs_used:
        first = regions(fresh, name)
        assert regions(fresh, name) is first, "kept, not recomputed"
        assert first == regions(CN, name), "the same regions as another compilation's"
