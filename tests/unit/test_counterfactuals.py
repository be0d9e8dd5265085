"""Counterfactuals that exist (issue 13, item 4): the nearest less restrictive row reachable by
changing actionable inputs only, one input or several, smallest change first; else why not."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.policy import CompiledPolicy, compile_policy, load_policy
from repayguard.core.policy.counterfactual import ACTIONABLE, WHY_NONE, search
from repayguard.core.policy.explain import explain
from repayguard.core.policy.inputs import coerce_inputs
from repayguard.core.policy.outcome import looser
from repayguard.resources import read_text

SHIPPED = {
    name: compile_policy(load_policy(read_text(f"policies/{name}.yaml")))
    for name in ("cn-default", "eu-example", "us-example")
}
CN = SHIPPED["cn-default"]


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
