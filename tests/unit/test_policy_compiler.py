"""The compiled policy: first hit, collect merge, fallbacks, keep, and row form == vectorized."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.policy import (
    NO_MATCH,
    OUTPUT_SCHEMA,
    CompiledPolicy,
    Policy,
    compile_policy,
)

INPUTS = {
    "n": {"type": "number"},
    "m": {"type": "number"},
    "i": {"type": "integer"},
    "s": {"type": "string", "enum": ["A", "B", "C"]},
    "b": {"type": "boolean"},
    "d": {"type": "date"},
}
SCHEMA = {
    "n": pl.Float64,
    "m": pl.Float64,
    "i": pl.Int64,
    "s": pl.String,
    "b": pl.Boolean,
    "d": pl.Date,
}
DEFAULT_THEN = {
    "auto_debit": "optional",
    "early_repayment": "allowed",
    "manual": "allowed",
    "manual_channels": ["free_a", "fee_c"],
}


def policy_of(
    rows: list[dict[str, Any]],
    default_reasons: list[str] | None = None,
    *,
    hit_policy: str = "first",
    default: bool = True,
) -> CompiledPolicy:
    """Compile rows (plus a default row) over the inputs n, m, i, s, b, d."""
    doc = {
        "name": "generated",
        "version": 1,
        "owner": "tests",
        "jurisdiction": "CN",
        "channels": {"free_a": {"free": True}, "free_b": {"free": True}, "fee_c": {"free": False}},
        "inputs": INPUTS,
        "hit_policy": hit_policy,
        "rows": [
            *rows,
            *(
                [{"id": "default", "then": DEFAULT_THEN, "reasons": default_reasons or []}]
                if default
                else []
            ),
        ],
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
                "reasons": ["EARLY_DELINQUENCY"],
            },
            {"id": "also-big", "when": {"n": ">= 5"}, "then": {"early_repayment": "restricted"}},
        ]
    )
    out = evaluate(policy, {"n": 12}, {"n": 7}, {"n": 1}, {})
    assert [r["rule_id"] for r in out] == ["big", "also-big", "default", "default"]
    assert out[0] | {"manual_channels": None} == {
        "rule_id": "big",
        "rule_ids": ["big"],
        "auto_debit": "disabled",
        "early_repayment": "allowed",
        "manual": "allowed",
        "manual_channels": None,
        "reasons": ["EARLY_DELINQUENCY"],
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
    decided = [
        policy.evaluate_row(r).rule_id
        for r in ({"n": 2, "s": "A"}, {"n": 2, "s": "C"}, {"n": 0, "s": "A"})
    ]
    assert decided == ["both", "default", "default"]


def test_collect_merges_every_matching_row_to_the_most_restrictive() -> None:
    policy = policy_of(
        [
            {
                "id": "late",
                "when": {"n": ">= 1"},
                "then": {"auto_debit": "disabled", "manual_channels": ["free_a", "free_b"]},
                "reasons": ["EARLY_DELINQUENCY"],
                "notice_days": 3,
                "max_days": 60,
                "review_after_days": 30,
            },
            {
                "id": "risky",
                "when": {"s": '"C"'},
                "then": {"auto_debit": "mandatory", "manual_channels": ["free_b", "fee_c"]},
                "reasons": ["HIGH_RISK_TIER", "EARLY_DELINQUENCY"],
                "requires_approval": True,
                "notice_days": 1,
                "max_days": 90,
                "review_after_days": 14,
            },
            {"id": "hold", "when": {"b": "true"}, "then": "keep", "reasons": ["APPEAL_PENDING"]},
        ],
        default_reasons=["DEFAULT_TERMS"],
        hit_policy="collect",
    )
    both = policy.evaluate_row({"n": 2, "s": "C"})
    assert both.rule_id == "late"
    assert both.rule_ids == ("late", "risky")
    assert (both.auto_debit, both.early_repayment, both.manual) == (
        "mandatory",
        "allowed",
        "allowed",
    )
    assert both.manual_channels == ("free_b",)
    assert both.reasons == ("EARLY_DELINQUENCY", "HIGH_RISK_TIER")
    assert (both.notice_days, both.max_days, both.review_after_days) == (3, 60, 14)
    assert both.requires_approval
    assert not both.keep
    held = policy.evaluate_row({"n": 2, "b": True})
    assert held.keep
    assert held.rule_ids == ("late", "hold")
    assert policy.evaluate_row({"n": 0}).rule_id == "default"  # only when nothing else matches
    assert policy.evaluate_row({"n": 0}).reasons == ("DEFAULT_TERMS",)
    assert [r["rule_ids"] for r in evaluate(policy, {"n": 2, "s": "C"}, {"n": 0})] == [
        ["late", "risky"],
        ["default"],
    ]


def test_without_a_default_row_unmatched_inputs_get_the_flagged_baseline() -> None:
    policy = policy_of(
        [{"id": "x", "when": {"n": ">= 0"}, "then": {"auto_debit": "disabled"}}], default=False
    )
    unmatched = policy.evaluate_row({"n": -1})
    assert unmatched.rule_id == NO_MATCH
    assert unmatched.rule_ids == ()
    assert (unmatched.auto_debit, unmatched.manual_channels) == (
        "optional",
        ("free_a", "free_b", "fee_c"),
    )
    assert policy.evaluate_row({"n": 1}).manual_channels == ("free_a", "free_b", "fee_c")
    assert policy.first_hit({"n": -1}) == -1
    assert evaluate(policy, {"n": -1})[0]["rule_id"] == NO_MATCH


def test_evaluate_returns_the_output_schema_row_aligned() -> None:
    policy = policy_of([{"id": "x", "when": {"n": "1"}, "then": {"manual": "forced"}}])
    out = policy.evaluate(pl.DataFrame({"n": [1.0, 2.0, 1.0], "other": ["a", "b", "c"]}))
    assert out.schema == OUTPUT_SCHEMA
    assert out["rule_id"].to_list() == ["x", "default", "x"]
    assert policy.evaluate(pl.DataFrame({"n": []}, schema={"n": pl.Float64})).height == 0


def test_dates_in_a_frame_may_be_iso_text() -> None:
    policy = policy_of([{"id": "new", "when": {"d": '>= d("2025-01-01")'}, "then": "keep"}])
    out = policy.evaluate(pl.DataFrame({"d": ["2025-01-02", "2024-12-31", None]}))
    assert out["rule_id"].to_list() == ["new", "default", "default"]


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


def test_an_integer_input_read_from_a_float_column_takes_nan_as_null() -> None:
    """Integer columns skip the NaN pass (they hold none); a float column of an integer input
    still reads NaN as null, as the row form does."""
    policy = policy_of([{"id": "unknown", "when": {"i": "null"}, "then": {"manual": "forced"}}])
    frame = pl.DataFrame({"i": [math.nan, 2.0, None]}, schema={"i": pl.Float64})
    decided = policy.evaluate(frame)["rule_id"].to_list()
    assert decided == ["unknown", "default", "unknown"]
    assert policy.evaluate_row({"i": math.nan}).rule_id == "unknown"
    as_int = policy.evaluate(pl.DataFrame({"i": [2, None]}, schema={"i": pl.Int64}))
    assert as_int["rule_id"].to_list() == ["default", "unknown"]


def test_more_than_64_rows_collect_through_several_mask_words() -> None:
    rows = [
        {"id": f"r{k}", "when": {"i": f">= {k}"}, "then": "keep", "reasons": ["EARLY_DELINQUENCY"]}
        for k in range(70)
    ]
    policy = policy_of(rows, hit_policy="collect")
    out = evaluate(policy, {"i": 66}, {"i": 1}, {"i": -5})
    assert [len(r["rule_ids"]) for r in out] == [67, 2, 1]
    assert out[2]["rule_id"] == "default"
    assert policy.evaluate_row({"i": 66}).rule_ids == tuple(out[0]["rule_ids"])


# -- property: row form == vectorized form, for both hit policies --------------------------------

_k = st.sampled_from([-2, -1, -0.5, 0, 0.5, 1, 2, 3])
_number_cell = st.one_of(
    st.just("-"),
    st.builds(lambda op, k: f"{op} {k}", st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _k),
    st.builds(str, _k),
    st.builds(lambda a, b, j: f"{a}{j}{b}", _k, _k, st.sampled_from([", ", " and ", " or "])),
    st.builds(
        lambda lo, hi, left, right, neg: f"{neg}{left}{min(lo, hi)}..{max(lo, hi) + 1}{right}",
        _k,
        _k,
        st.sampled_from("[("),
        st.sampled_from("])"),
        st.sampled_from(["", "not in "]),
    ),
    st.sampled_from(
        ["null", "== null", "!= null", "< 0, > 1", "not in [1, null]", "null, >= 2", "> 2, null"]
    ),
)
_string_cell = st.sampled_from(
    ['"A"', '"A", "B"', 'not in ["A"]', '["A", "B"]', '!= "C"', "null", "-", '"A", null']
)
_bool_cell = st.sampled_from(["true", "false", "null", "!= true", "true, null", "-"])
_date_cell = st.sampled_from(
    ['d("2025-01-01")', '>= d("2025-01-01")', '< d("2025-01-02"), null', "null", "-"]
)
_cells = {
    "n": _number_cell,
    "m": _number_cell,
    "i": _number_cell,
    "s": _string_cell,
    "b": _bool_cell,
    "d": _date_cell,
}
_channels = st.lists(st.sampled_from(["free_a", "free_b", "fee_c"]), max_size=3, unique=True)
_then = st.one_of(
    st.just("keep"),
    st.fixed_dictionaries(
        {},
        optional={
            "auto_debit": st.sampled_from(["optional", "mandatory", "disabled"]),
            "early_repayment": st.sampled_from(["allowed", "restricted"]),
            "manual": st.sampled_from(["allowed", "forced"]),
            "manual_channels": _channels,
        },
    ),
)
_reasons = st.lists(
    st.sampled_from(["EARLY_DELINQUENCY", "HIGH_RISK_TIER", "DEFAULT_TERMS"]), max_size=2
)


@st.composite
def _rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    rows = []
    for i in range(draw(st.integers(0, 6))):
        names = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=4, unique=True))
        rows.append(
            {
                "id": f"r{i}",
                "when": {name: draw(_cells[name]) for name in names},
                "then": draw(_then),
                "reasons": draw(_reasons),
                "notice_days": draw(st.integers(0, 5)),
                "max_days": draw(st.none() | st.integers(1, 90)),
                "review_after_days": draw(st.none() | st.integers(1, 90)),
                "requires_approval": draw(st.booleans()),
            }
        )
    return rows


_number = st.one_of(
    st.none(), _k, st.sampled_from([1.5, 2.5, 3.0, math.nan, 10, -7]), st.integers(-3, 4)
)
_inputs = st.fixed_dictionaries(
    {
        "n": _number,
        "m": _number,
        "i": st.one_of(st.none(), st.integers(-3, 4)),
        "s": st.sampled_from([None, "A", "B", "C"]),
        "b": st.sampled_from([None, True, False]),
        "d": st.sampled_from([None, date(2024, 12, 31), date(2025, 1, 1), date(2025, 1, 2)]),
    }
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=_rows(),
    inputs=st.lists(_inputs, min_size=1, max_size=30),
    hit_policy=st.sampled_from(["first", "collect"]),
    default=st.booleans(),
)
def test_row_form_and_vectorized_form_agree_on_rows_outputs_and_reasons(
    rows: list[dict[str, Any]], inputs: list[dict[str, Any]], hit_policy: str, default: bool
) -> None:
    if not rows and not default:
        default = True
    policy = policy_of(rows, hit_policy=hit_policy, default=default)
    vectorized = evaluate(policy, *inputs)
    for given_inputs, got in zip(inputs, vectorized, strict=True):
        expected = policy.evaluate_row(given_inputs)
        assert got["rule_ids"] == list(expected.rule_ids), given_inputs
        assert got == expected.as_dict()
        matched = policy.matched(given_inputs)
        if hit_policy == "collect" and matched:
            assert expected.rule_ids == matched
