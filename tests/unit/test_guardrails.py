"""Guardrails G1 (free channel), G2 (jurisdiction) and G4 (expiry): refused statically with the
row and a counter-example, enforced at runtime."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.policy import (
    NO_MATCH,
    JurisdictionProfile,
    Policy,
    PolicyInvalid,
    PolicyProblem,
    check_policy,
    compile_policy,
    load_policy,
    load_profile,
)
from repayguard.core.policy.guardrails import alerts, enforce
from repayguard.resources import read_text

PROFILES = {
    code: load_profile(read_text(f"jurisdictions/{code.lower()}.yaml"))
    for code in ("CN", "EU", "UK", "US")
}
CHANNELS = {
    "app_balance": {"free": True},
    "counter": {"free": True},
    "bank_transfer": {"free": False},
}
INPUTS = {
    "tier": {"type": "string", "enum": ["T1", "T2", "T3", "T4", "T5"]},
    "dpd_now": {"type": "integer", "minimum": 0},
    "failed_debits_30d": {"type": "integer", "minimum": 0},
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
TERMS = {"max_days": 30, "review_after_days": 14}


def document(
    *rows: dict[str, Any],
    default: dict[str, Any] | None = None,
    jurisdiction: str = "CN",
    hit_policy: str = "first",
) -> dict[str, Any]:
    return {
        "name": "guardrails",
        "version": 1,
        "owner": "risk",
        "jurisdiction": jurisdiction,
        "channels": CHANNELS,
        "inputs": INPUTS,
        "hit_policy": hit_policy,
        "rows": [*rows, default or DEFAULT],
    }


def problems(doc: dict[str, Any]) -> list[PolicyProblem]:
    return check_policy(Policy.model_validate(doc), profiles=PROFILES)


def test_a_row_leaving_only_a_paid_channel_is_refused_with_row_and_counter_example() -> None:
    doc = document(
        {"id": "appeal", "when": {"open_appeal": "true"}, "then": "keep"},
        {
            "id": "late",
            "when": {"dpd_now": ">= 30", "tier": '"T4", "T5"'},
            "then": {"auto_debit": "mandatory"},
            **TERMS,
        },
        {
            "id": "fee-only",
            "when": {"failed_debits_30d": ">= 3", "tier": '!= "T1"'},
            "then": {"auto_debit": "disabled", "manual_channels": ["bank_transfer"]},
            **TERMS,
        },
    )
    with pytest.raises(PolicyInvalid) as caught:
        load_policy(yaml.safe_dump(doc), profiles=PROFILES)
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
    row = {
        "id": "late",
        "when": {"dpd_now": "> 0"},
        "then": {"auto_debit": "mandatory"},
        **TERMS,
    }
    assert problems(document(row)) == []


def test_collect_rows_whose_channels_intersect_to_no_free_one_are_refused() -> None:
    doc = document(
        {
            "id": "late",
            "when": {"dpd_now": ">= 30"},
            "then": {"manual_channels": ["app_balance", "bank_transfer"]},
            **TERMS,
        },
        {
            "id": "failing",
            "when": {"failed_debits_30d": ">= 3"},
            "then": {"auto_debit": "disabled", "manual_channels": ["counter", "bank_transfer"]},
            **TERMS,
        },
        {
            "id": "never-with-late",
            "when": {"dpd_now": "< 30"},
            "then": {"manual_channels": ["counter"]},
            **TERMS,
        },
        default={**DEFAULT, "then": {**DEFAULT["then"], "manual_channels": list(CHANNELS)}},
        hit_policy="collect",
    )
    [problem] = problems(doc)
    assert (problem.row_id, problem.field) == ("failing", "then.manual_channels")
    assert "'late'" in problem.message
    assert "collect" in problem.message
    merged = compile_policy(Policy.model_validate(doc)).evaluate_row(problem.counter_example or {})
    assert merged.rule_ids == ("late", "failing")
    assert merged.manual_channels == ("bank_transfer",)


@pytest.mark.parametrize(
    ("jurisdiction", "then", "field"),
    [
        ("EU", {"early_repayment": "restricted"}, "then.early_repayment"),
        ("UK", {"early_repayment": "restricted"}, "then.early_repayment"),
        ("US", {"auto_debit": "mandatory"}, "then.auto_debit"),
    ],
)
def test_jurisdiction_profiles_refuse_forbidden_states_with_the_reason(
    jurisdiction: str, then: dict[str, str], field: str
) -> None:
    doc = document(
        {"id": "appeal", "when": {"open_appeal": "true"}, "then": "keep"},
        {"id": "clash", "when": {"tier": '"T5"'}, "then": then, **TERMS},
        jurisdiction=jurisdiction,
    )
    [problem] = problems(doc)
    assert (problem.row_id, problem.field) == ("clash", field)
    assert problem.message.startswith(f"G2 ({jurisdiction})")
    assert problem.counter_example == {"open_appeal": False, "tier": "T5"}
    assert problems({**doc, "jurisdiction": "CN"}) == []


def test_us_policies_may_still_disable_auto_debit() -> None:
    doc = document(
        {
            "id": "failing",
            "when": {"failed_debits_30d": ">= 3"},
            "then": {"auto_debit": "disabled"},
            **TERMS,
        },
        jurisdiction="US",
    )
    assert problems(doc) == []


def test_a_restriction_without_expiry_or_review_is_refused() -> None:
    doc = document(
        {"id": "no-terms", "when": {"tier": '"T5"'}, "then": {"auto_debit": "mandatory"}},
        {
            "id": "late-review",
            "when": {"tier": '"T4"'},
            "then": {"manual": "forced"},
            "max_days": 10,
            "review_after_days": 20,
        },
        {
            "id": "lost-channel",
            "when": {"tier": '"T3"'},
            "then": {"manual_channels": ["app_balance"]},
            "max_days": 10,
        },
        {"id": "open", "when": {"tier": '"T1"'}, "then": {"auto_debit": "optional"}},
    )
    found = {(p.row_id, p.field): p for p in problems(doc)}
    assert set(found) == {
        ("no-terms", "max_days"),
        ("late-review", "review_after_days"),
        ("lost-channel", "review_after_days"),
    }
    assert "no max_days and no review_after_days" in found["no-terms", "max_days"].message
    assert all(p.message.startswith("G4") for p in found.values())


def test_an_unknown_jurisdiction_profile_is_a_problem() -> None:
    found = check_policy(Policy.model_validate(document()), profiles={"EU": PROFILES["EU"]})
    assert [(p.field, p.message.split(";")[0]) for p in found] == [
        ("jurisdiction", "no jurisdiction profile for 'CN'")
    ]


def test_profiles_cannot_forbid_the_open_state() -> None:
    with pytest.raises(ValueError, match="open state"):
        load_profile(
            "code: EU\nname: x\nrules: [{method: auto_debit, forbidden: [optional], why: x}]"
        )


# -- runtime ------------------------------------------------------------------------------------


def decisions(*rows: tuple[str | None, list[str] | None], **states: str) -> pl.DataFrame:
    n = len(rows)
    return pl.DataFrame(
        {
            "borrower_id": [f"b{i}" for i in range(n)],
            "rule_id": ["r"] * n,
            "auto_debit": [states.get("auto_debit", "mandatory")] * n,
            "early_repayment": [states.get("early_repayment", "restricted")] * n,
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


def test_enforce_applies_the_jurisdiction_profile_at_runtime() -> None:
    profile: JurisdictionProfile = PROFILES["EU"]
    policy = compile_policy(
        load_policy(yaml.safe_dump(document(jurisdiction="EU")), profiles=PROFILES),
        profile=profile,
    )
    out = enforce(decisions(("allowed", ["counter"]), ("forced", ["bank_transfer"])), policy)
    assert out["early_repayment"].to_list() == ["allowed", "allowed"]
    assert "G2: early_repayment may not be 'restricted' under EU" in out["guardrail"][0]
    assert "G1" in out["guardrail"][1]
    assert "G2" in out["guardrail"][1]
    assert out["guardrail"][0].endswith("safe default applied")
    report = alerts(out)
    assert report["codes"].to_list() == [["G2"], ["G1", "G2"]]
    assert report["borrower_id"].to_list() == ["b0", "b1"]


def test_enforce_flags_decisions_no_row_gave() -> None:
    policy = load_policy(yaml.safe_dump(document()))
    frame = decisions(("allowed", ["counter"]), auto_debit="optional", early_repayment="allowed")
    out = enforce(frame.with_columns(pl.lit(NO_MATCH).alias("rule_id")), policy)
    assert out["guardrail"][0].startswith("no row matched")
    assert alerts(out)["codes"].to_list() == [["NO_MATCH"]]


# -- property: nothing check_policy accepts can leave a borrower without a free channel --------

_channel_lists = st.lists(st.sampled_from(sorted(CHANNELS)), max_size=3, unique=True)
_then = st.one_of(
    st.just("keep"),
    st.fixed_dictionaries(
        {},
        optional={
            "auto_debit": st.sampled_from(["optional", "mandatory", "disabled"]),
            "early_repayment": st.sampled_from(["allowed", "restricted"]),
            "manual": st.sampled_from(["allowed", "forced"]),
            "manual_channels": _channel_lists,
        },
    ),
)
_cells = {
    "tier": st.sampled_from(['"T5"', '"T4", "T5"', '!= "T1"', "-", "null"]),
    "dpd_now": st.sampled_from([">= 30", "[1..29]", "0", "< 5", "!= null", "(0..5)"]),
    "failed_debits_30d": st.sampled_from([">= 3", "> 0", "1, 2", "null"]),
    "open_appeal": st.sampled_from(["true", "false", "!= true"]),
}


@st.composite
def _documents(draw: st.DrawFn) -> dict[str, Any]:
    rows = []
    for i in range(draw(st.integers(0, 4))):
        names = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=3, unique=True))
        rows.append(
            {
                "id": f"r{i}",
                "when": {n: draw(_cells[n]) for n in names},
                "then": draw(_then),
                **TERMS,
            }
        )
    default_channels = draw(
        st.lists(st.sampled_from(sorted(CHANNELS)), min_size=1, max_size=3, unique=True)
    )
    default = {**DEFAULT, "then": {**DEFAULT["then"], "manual_channels": default_channels}}
    return document(
        *rows,
        default=default,
        jurisdiction=draw(st.sampled_from(["CN", "EU", "US"])),
        hit_policy=draw(st.sampled_from(["first", "collect"])),
    )


_inputs = st.fixed_dictionaries(
    {
        "tier": st.sampled_from([None, "T1", "T4", "T5"]),
        "dpd_now": st.sampled_from([None, 0, 3, 29, 30, 45]),
        "failed_debits_30d": st.sampled_from([None, 0, 1, 3]),
        "open_appeal": st.sampled_from([None, True, False]),
    }
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_documents(), inputs=st.lists(_inputs, min_size=1, max_size=20))
def test_no_accepted_policy_leaves_anyone_without_a_free_channel_or_breaks_its_profile(
    doc: dict[str, Any], inputs: list[dict[str, Any]]
) -> None:
    policy = Policy.model_validate(doc)
    found = check_policy(policy, profiles=PROFILES)
    guard_findings = [p for p in found if p.message.startswith(("G1", "G2"))]
    unreachable = {p.row_id for p in found if p.message.startswith("unreachable")}
    for problem in guard_findings:  # every finding's counter-example really shows it
        if problem.row_id in unreachable or problem.counter_example is None:
            continue  # an unreachable row's example only satisfies its own cells
        decided = compile_policy(policy).evaluate_row(problem.counter_example)
        assert problem.row_id in decided.rule_ids or decided.rule_id == problem.row_id
    if guard_findings:
        return
    compiled = compile_policy(policy, profile=PROFILES[doc["jurisdiction"]])
    frame = pl.DataFrame(
        inputs,
        schema={
            "tier": pl.String,
            "dpd_now": pl.Int64,
            "failed_debits_30d": pl.Int64,
            "open_appeal": pl.Boolean,
        },
    )
    out = enforce(compiled.evaluate(frame), compiled)
    assert out["guardrail"].is_null().all()  # accepted policies never need the runtime fix
    free = policy.free_channels
    for row in out.iter_rows(named=True):
        assert row["manual"] in ("allowed", "forced")
        assert free & set(row["manual_channels"])
        assert not PROFILES[doc["jurisdiction"]].violations(row)
