"""Guardrail G1 (a free manual channel always remains): refused statically, enforced at runtime."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.guardrails import check_policy, enforce
from repayguard.core.policy import Policy, PolicyInvalid, compile_policy, load_policy

CHANNELS = {
    "app_balance": {"free": True},
    "counter": {"free": True},
    "bank_transfer": {"free": False},
}
INPUTS = {
    "tier": {"type": "string", "enum": ["T1", "T2", "T3", "T4", "T5"]},
    "dpd_now": {"type": "number"},
    "failed_debits_30d": {"type": "number"},
    "open_appeal": {"type": "boolean"},
}
DEFAULT: dict[str, Any] = {
    "id": "default",
    "then": {
        "auto_debit": "optional",
        "early_repayment": "allowed",
        "manual": "allowed",
        "manual_channels": ["app_balance", "bank_transfer"],
    },
}


def document(*rows: dict[str, Any], default: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": "g1",
        "version": 1,
        "owner": "risk",
        "jurisdiction": "CN",
        "channels": CHANNELS,
        "inputs": INPUTS,
        "rows": [*rows, default or DEFAULT],
    }


def problems(doc: dict[str, Any]) -> list[Any]:
    return check_policy(Policy.model_validate(doc))


def test_a_row_leaving_only_a_paid_channel_is_refused_with_row_and_counter_example() -> None:
    doc = document(
        {"id": "appeal", "when": {"open_appeal": "true"}, "then": "keep"},
        {
            "id": "late",
            "when": {"dpd_now": ">= 30", "tier": '"T4", "T5"'},
            "then": {"auto_debit": "mandatory"},
        },
        {
            "id": "fee-only",
            "when": {"failed_debits_30d": ">= 3", "tier": 'not("T1")'},
            "then": {"auto_debit": "disabled", "manual_channels": ["bank_transfer"]},
        },
    )
    with pytest.raises(PolicyInvalid) as caught:
        load_policy(yaml.safe_dump(doc))
    [problem] = caught.value.problems
    assert (problem.row_id, problem.field) == ("fee-only", "then.manual_channels")
    assert "G1" in problem.message
    assert "bank_transfer" in problem.message
    example = dict(problem.counter_example or {})
    # The counter-example really reaches the offending row under first-hit.
    assert compile_policy(Policy.model_validate(doc)).evaluate_row(example).rule_id == "fee-only"
    assert example["failed_debits_30d"] >= 3
    assert example["tier"] != "T1"


def test_a_default_row_without_a_free_channel_is_refused() -> None:
    default = {**DEFAULT, "then": {**DEFAULT["then"], "manual_channels": ["bank_transfer"]}}
    found = problems(document(default=default))
    assert [(p.row_id, p.counter_example) for p in found] == [("default", {})]


def test_an_omitted_channel_list_falls_back_to_the_default_row() -> None:
    row = {"id": "late", "when": {"dpd_now": "> 0"}, "then": {"auto_debit": "mandatory"}}
    assert problems(document(row)) == []


def test_an_unreachable_offending_row_still_gets_an_example_of_its_own_conditions() -> None:
    doc = document(
        {"id": "all", "when": {"dpd_now": "-", "tier": "-"}, "then": "keep"},
        {"id": "bad", "when": {"dpd_now": "> 5"}, "then": {"manual_channels": []}},
    )
    [problem] = problems(doc)
    assert problem.row_id == "bad"
    assert (problem.counter_example or {})["dpd_now"] > 5


def test_unknown_inputs_and_type_mismatches_are_flagged() -> None:
    doc = document(
        {"id": "r1", "when": {"colour": '"red"'}, "then": "keep"},
        {"id": "r2", "when": {"dpd_now": '"thirty"', "tier": "> 3"}, "then": "keep"},
        {"id": "r3", "when": {"open_appeal": "1"}, "then": "keep"},
    )
    found = {(p.row_id, p.field) for p in problems(doc)}
    assert found == {
        ("r1", "when.colour"),
        ("r2", "when.dpd_now"),
        ("r2", "when.tier"),
        ("r3", "when.open_appeal"),
    }


def decisions(*rows: tuple[str | None, list[str] | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "borrower_id": [f"b{i}" for i in range(len(rows))],
            "auto_debit": ["mandatory"] * len(rows),
            "early_repayment": ["restricted"] * len(rows),
            "manual": [m for m, _ in rows],
            "manual_channels": [c for _, c in rows],
        },
        schema_overrides={"manual_channels": pl.List(pl.String), "manual": pl.String},
    )


def test_enforce_replaces_only_violating_decisions_and_says_why() -> None:
    policy = load_policy(yaml.safe_dump(document()))
    out = enforce(
        decisions(
            ("allowed", ["counter"]),
            ("forced", ["bank_transfer"]),
            ("allowed", []),
            (None, None),
            ("allowed", ["app_balance", "bank_transfer"]),
        ),
        compile_policy(policy),
    )
    assert out["borrower_id"].to_list() == ["b0", "b1", "b2", "b3", "b4"]
    assert out["guardrail"].is_null().to_list() == [True, False, False, False, True]
    replaced = out.filter(pl.col("guardrail").is_not_null())
    assert replaced["manual_channels"].to_list() == [["app_balance", "bank_transfer"]] * 3
    assert set(replaced["auto_debit"]) == {"optional"}
    assert set(replaced["manual"]) == {"allowed"}
    assert "G1" in out["guardrail"][1]
    assert "bank_transfer" in out["guardrail"][1]
    assert out["auto_debit"][0] == "mandatory"  # untouched


# -- property: nothing load_policy accepts can leave a borrower without a free channel --------

_channel_lists = st.lists(st.sampled_from(sorted(CHANNELS)), max_size=3, unique=True)
_then = st.one_of(
    st.just("keep"),
    st.fixed_dictionaries(
        {},
        optional={
            "auto_debit": st.sampled_from(["optional", "mandatory", "disabled"]),
            "manual": st.sampled_from(["allowed", "forced"]),
            "manual_channels": _channel_lists,
        },
    ),
)
_cells = {
    "tier": st.sampled_from(['"T5"', '"T4", "T5"', 'not("T1")', "-", "null"]),
    "dpd_now": st.sampled_from([">= 30", "[1..29]", "0", "< 0", "!= null", "(0..5)"]),
    "failed_debits_30d": st.sampled_from([">= 3", "> 0", "1, 2", "null"]),
    "open_appeal": st.sampled_from(["true", "false", "!= true"]),
}


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    rows = []
    for i in range(draw(st.integers(0, 4))):
        names = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=3, unique=True))
        rows.append(
            {"id": f"r{i}", "when": {n: draw(_cells[n]) for n in names}, "then": draw(_then)}
        )
    default_channels = draw(
        st.lists(st.sampled_from(sorted(CHANNELS)), min_size=1, max_size=3, unique=True)
    )
    default = {**DEFAULT, "then": {**DEFAULT["then"], "manual_channels": default_channels}}
    return document(*rows, default=default)


_inputs = st.fixed_dictionaries(
    {
        "tier": st.sampled_from([None, "T1", "T4", "T5"]),
        "dpd_now": st.sampled_from([None, 0.0, 3.0, 29.0, 30.0, 45.0]),
        "failed_debits_30d": st.sampled_from([None, 0.0, 1.0, 3.0]),
        "open_appeal": st.sampled_from([None, True, False]),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_documents(), inputs=st.lists(_inputs, min_size=1, max_size=20))
def test_no_accepted_policy_leaves_anyone_without_a_free_manual_channel(
    doc: dict[str, Any], inputs: list[dict[str, Any]]
) -> None:
    try:
        policy = load_policy(yaml.safe_dump(doc))
    except PolicyInvalid as refused:
        problems = refused.problems
    else:
        problems = ()
    if problems:  # refused: only ever for G1 in these generated documents
        assert all("G1" in p.message for p in problems)
        return
    compiled = compile_policy(policy)
    frame = pl.DataFrame(
        inputs,
        schema={
            "tier": pl.String,
            "dpd_now": pl.Float64,
            "failed_debits_30d": pl.Float64,
            "open_appeal": pl.Boolean,
        },
    )
    out = enforce(compiled.evaluate(frame), compiled)
    free = policy.free_channels
    assert out["guardrail"].is_null().all()  # accepted policies never need the runtime fix
    for manual, channels in zip(out["manual"], out["manual_channels"], strict=True):
        assert manual in ("allowed", "forced")
        assert free & set(channels)
