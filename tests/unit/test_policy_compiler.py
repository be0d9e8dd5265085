"""The compiled policy: first hit, fallbacks, keep, and row form == vectorized form."""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.policy import DECISION_SCHEMA, CompiledPolicy, Policy, compile_policy

INPUTS = {
    "n": {"type": "number"},
    "m": {"type": "number"},
    "s": {"type": "string", "enum": ["A", "B", "C"]},
    "b": {"type": "boolean"},
}
SCHEMA = {"n": pl.Float64, "m": pl.Float64, "s": pl.String, "b": pl.Boolean}
DEFAULT_THEN = {
    "auto_debit": "optional",
    "early_repayment": "allowed",
    "manual": "allowed",
    "manual_channels": ["free_a", "fee_c"],
}


def policy_of(
    rows: list[dict[str, Any]], default_reasons: list[str] | None = None
) -> CompiledPolicy:
    """Compile rows (plus a default row) over the inputs n, m (number), s (string), b (boolean)."""
    doc = {
        "name": "generated",
        "version": 1,
        "owner": "tests",
        "jurisdiction": "CN",
        "channels": {"free_a": {"free": True}, "free_b": {"free": True}, "fee_c": {"free": False}},
        "inputs": INPUTS,
        "rows": [*rows, {"id": "default", "then": DEFAULT_THEN, "reasons": default_reasons or []}],
    }
    return compile_policy(Policy.model_validate(doc))


def evaluate(policy: CompiledPolicy, *rows: dict[str, Any]) -> list[dict[str, Any]]:
    frame = pl.DataFrame([{k: r.get(k) for k in SCHEMA} for r in rows], schema=SCHEMA)
    return policy.evaluate(frame).to_dicts()


def test_first_matching_row_decides_and_omitted_methods_fall_back_to_default() -> None:
    policy = policy_of(
        [
            {
                "id": "big",
                "when": {"n": ">= 10"},
                "then": {"auto_debit": "disabled"},
                "reasons": ["DPD_NOW"],
            },
            {"id": "also-big", "when": {"n": ">= 5"}, "then": {"early_repayment": "restricted"}},
        ]
    )
    out = evaluate(policy, {"n": 12}, {"n": 7}, {"n": 1}, {})
    assert [r["rule_id"] for r in out] == ["big", "also-big", "default", "default"]
    assert out[0] | {"manual_channels": None} == {
        "rule_id": "big",
        "auto_debit": "disabled",
        "early_repayment": "allowed",
        "manual": "allowed",
        "manual_channels": None,
        "reasons": ["DPD_NOW"],
        "requires_approval": False,
        "notice_days": 0,
        "max_days": None,
        "review_after_days": None,
        "keep": False,
    }
    assert out[0]["manual_channels"] == ["free_a", "fee_c"]


def test_keep_rows_flag_keep_and_carry_the_default_methods() -> None:
    policy = policy_of(
        [{"id": "hold", "when": {"b": "true"}, "then": "keep", "reasons": ["APPEAL_PENDING"]}]
    )
    row = policy.evaluate_row({"b": True})
    assert row.keep
    assert row.rule_id == "hold"
    assert row.auto_debit == "optional"
    assert evaluate(policy, {"b": True})[0]["keep"] is True


def test_all_cells_of_a_row_must_match() -> None:
    policy = policy_of(
        [{"id": "both", "when": {"n": "> 1", "s": '"A", "B"'}, "then": {"manual": "forced"}}]
    )
    assert [
        policy.evaluate_row(r).rule_id
        for r in ({"n": 2, "s": "A"}, {"n": 2, "s": "C"}, {"n": 0, "s": "A"})
    ] == [
        "both",
        "default",
        "default",
    ]


def test_evaluate_returns_the_decision_schema_row_aligned() -> None:
    policy = policy_of([{"id": "x", "when": {"n": "1"}, "then": {"manual": "forced"}}])
    out = policy.evaluate(pl.DataFrame({"n": [1.0, 2.0, 1.0], "other": ["a", "b", "c"]}))
    assert out.schema == DECISION_SCHEMA
    assert out["rule_id"].to_list() == ["x", "default", "x"]
    assert policy.evaluate(pl.DataFrame({"n": []}, schema={"n": pl.Float64})).height == 0


def test_a_used_input_missing_from_the_frame_is_an_error() -> None:
    policy = policy_of([{"id": "x", "when": {"s": '"A"'}, "then": {"manual": "forced"}}])
    with pytest.raises(ValueError, match="lacks"):
        policy.evaluate(pl.DataFrame({"n": [1.0]}))


def test_a_policy_of_only_the_default_row_decides_every_row() -> None:
    policy = policy_of([])
    assert policy.evaluate(pl.DataFrame({"z": [1, 2]}))["rule_id"].to_list() == ["default"] * 2
    assert policy.evaluate_row({}).rule_id == "default"


def test_nan_inputs_count_as_null_in_both_forms() -> None:
    policy = policy_of([{"id": "unknown", "when": {"n": "null"}, "then": {"manual": "forced"}}])
    assert policy.evaluate_row({"n": math.nan}).rule_id == "unknown"
    assert evaluate(policy, {"n": math.nan})[0]["rule_id"] == "unknown"


# -- property: row form == vectorized form ------------------------------------------------------

_k = st.sampled_from([-2, -1, -0.5, 0, 0.5, 1, 2, 3])
_number_cell = st.one_of(
    st.just("-"),
    st.builds(lambda op, k: f"{op} {k}", st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _k),
    st.builds(str, _k),
    st.builds(lambda a, b: f"{a}, {b}", _k, _k),
    st.builds(
        lambda lo, hi, left, right: f"{left}{min(lo, hi)}..{max(lo, hi) + 1}{right}",
        _k,
        _k,
        st.sampled_from("[("),
        st.sampled_from("])"),
    ),
    st.sampled_from(["null", "== null", "!= null", "< 0, > 1", "not(1, null)", "null, >= 2"]),
)
_string_cell = st.sampled_from(
    ['"A"', '"A", "B"', 'not("A")', 'not("A", "B")', '!= "C"', "null", "-", '"A", null']
)
_bool_cell = st.sampled_from(["true", "false", "null", "!= true", "true, null", "-"])
_cells = {"n": _number_cell, "m": _number_cell, "s": _string_cell, "b": _bool_cell}

_then = st.one_of(
    st.just("keep"),
    st.fixed_dictionaries(
        {},
        optional={
            "auto_debit": st.sampled_from(["optional", "mandatory", "disabled"]),
            "early_repayment": st.sampled_from(["allowed", "restricted"]),
            "manual": st.sampled_from(["allowed", "forced"]),
            "manual_channels": st.lists(
                st.sampled_from(["free_a", "free_b", "fee_c"]), max_size=3, unique=True
            ),
        },
    ),
)


@st.composite
def _rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(0, 5))):
        names = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=4, unique=True))
        when = {name: draw(_cells[name]) for name in names}
        rows.append({"id": f"r{i}", "when": when, "then": draw(_then), "notice_days": i})
    return rows


_number = st.one_of(
    st.none(), _k, st.sampled_from([1.5, 2.5, 3.0, math.nan, 10, -7]), st.integers(-3, 4)
)
_inputs = st.fixed_dictionaries(
    {
        "n": _number,
        "m": _number,
        "s": st.sampled_from([None, "A", "B", "C"]),
        "b": st.sampled_from([None, True, False]),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=_rows(), inputs=st.lists(_inputs, min_size=1, max_size=30))
def test_row_form_and_vectorized_form_agree(
    rows: list[dict[str, Any]], inputs: list[dict[str, Any]]
) -> None:
    policy = policy_of(rows)
    vectorized = evaluate(policy, *inputs)
    for given_inputs, got in zip(inputs, vectorized, strict=True):
        expected = policy.evaluate_row(given_inputs)
        assert got["rule_id"] == expected.rule_id, given_inputs
        assert got == {
            **{k: getattr(expected, k) for k in DECISION_SCHEMA.names()},
            "manual_channels": list(expected.manual_channels),
            "reasons": list(expected.reasons),
        }
