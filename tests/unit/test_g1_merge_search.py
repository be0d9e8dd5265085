"""G1 under ``collect``: the merge search over the rows' elementary regions is complete, every
finding's borrower really loses every free channel, and a search that cannot conclude refuses."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.policy import Policy, check_policy, compile_policy, guardrails, parse_policy
from repayguard.core.policy.analysis import policy_boxes
from repayguard.core.policy.ir import build_ir
from repayguard.core.policy.regions import free_left, merge_violations
from repayguard.core.policy.rowform import RowEvaluator
from repayguard.policies import profiles
from repayguard.resources import read_text

from support.merge import crowded_collect


def g1_problems(doc: dict[str, Any]) -> list[Any]:
    return [p for p in check_policy(Policy.model_validate(doc)) if "G1" in p.message]


@pytest.mark.parametrize("fillers", [12, 45])
def test_two_clashing_rows_behind_many_fillers_are_refused_with_a_borrower(fillers: int) -> None:
    doc = crowded_collect(fillers)
    [problem] = g1_problems(doc)
    assert (problem.row_id, problem.field) == ("failing", "then.manual_channels")
    assert "['late']" in problem.message
    assert problem.counter_example == {"dpd_now": 1, "failed_debits_30d": 3}
    decided = compile_policy(Policy.model_validate(doc)).evaluate_row(problem.counter_example)
    assert {"late", "failing"} <= set(decided.rule_ids)
    assert decided.manual_channels == ("bank_transfer",)  # the paid channel only


def test_the_crowded_policy_without_the_clash_is_proven_valid() -> None:
    assert check_policy(Policy.model_validate(crowded_collect(45, apart=True))) == []


def test_a_search_that_cannot_conclude_refuses_the_policy() -> None:
    policy = Policy.model_validate(crowded_collect(45, apart=True))
    ir = build_ir(policy)
    found = guardrails.check_policy(
        policy, ir=ir, boxes=policy_boxes(ir.rows, policy.inputs), merge_budget=1
    )
    [problem] = found
    assert problem.message.startswith("could not prove G1 within budget")
    assert problem.row_id is None


# -- random small collect policies against brute force -----------------------------------------

CHANNELS = {"app": {"free": True}, "counter": {"free": True}, "bank": {"free": False}}
FREE = frozenset({"app", "counter"})
INPUTS = {
    "tier": {"type": "string", "enum": ["T1", "T2", "T3"]},
    "dpd": {"type": "integer", "minimum": 0},
    "score": {"type": "number"},
    "flag": {"type": "boolean", "nullable": False},
}
CELLS = {
    "tier": ['"T1"', '"T2", "T3"', '!= "T3"', "null", 'not in ["T1"]'],
    "dpd": [">= 30", "[1..29]", "0", "< 5", "!= null", "(0..5)", "> 3 and < 40", "null"],
    "score": ["< 0.5", "[0.2..0.8]", ">= 0.8", "(0.2..0.5)", "< 0.3, > 0.6", "null"],
    "flag": ["true", "false"],
}
# Every literal and its neighbours: each elementary region holds one of these points.
GRID = {
    "tier": [None, "T1", "T2", "T3"],
    "dpd": [None, 0, 1, 2, 3, 4, 5, 6, 29, 30, 39, 40, 41],
    "score": [None, -1.0, 0.2, 0.25, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9],
    "flag": [True, False],
}


@st.composite
def collect_documents(draw: st.DrawFn, *, every_row_free: bool) -> dict[str, Any]:
    channel_lists = st.lists(st.sampled_from(sorted(CHANNELS)), max_size=3, unique=True)
    if every_row_free:
        channel_lists = channel_lists.filter(lambda c: bool(FREE & set(c)))
    rows = []
    for i in range(draw(st.integers(1, 6))):
        names = draw(st.lists(st.sampled_from(sorted(CELLS)), min_size=1, max_size=3, unique=True))
        rows.append(
            {
                "id": f"r{i}",
                "when": {n: draw(st.sampled_from(CELLS[n])) for n in names},
                "then": {
                    "manual": draw(st.sampled_from(["allowed", "forced"])),
                    "manual_channels": draw(channel_lists),
                },
                "max_days": 30,
                "review_after_days": 14,
            }
        )
    default = {
        "id": "default",
        "then": {
            "auto_debit": "optional",
            "early_repayment": "allowed",
            "manual": "allowed",
            "manual_channels": list(CHANNELS),
        },
    }
    return {
        "name": "random-collect",
        "owner": "risk",
        "jurisdiction": "CN",
        "channels": CHANNELS,
        "inputs": INPUTS,
        "hit_policy": "collect",
        "rows": [*rows, default],
    }


def brute_force(policy: Policy) -> list[dict[str, Any]]:
    """Every grid borrower the row form leaves without a free manual channel."""
    evaluator = RowEvaluator(build_ir(policy))
    names = sorted(GRID)
    bad = []
    for values in itertools.product(*(GRID[n] for n in names)):
        borrower = dict(zip(names, values, strict=True))
        if not free_left(evaluator.evaluate(borrower), FREE):
            bad.append(borrower)
    return bad


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(doc=collect_documents(every_row_free=False))
def test_the_search_finds_a_violation_exactly_when_brute_force_does(doc: dict[str, Any]) -> None:
    policy = Policy.model_validate(doc)
    ir = build_ir(policy)
    search = merge_violations(ir, policy_boxes(ir.rows, policy.inputs), FREE)
    assert search.complete
    assert bool(search.violations) == bool(brute_force(policy))
    evaluator = RowEvaluator(ir)
    for violation in search.violations:  # each borrower really is left without a free channel
        assert not free_left(evaluator.evaluate(violation.example), FREE)
        assert set(violation.rows) <= set(evaluator.matched(violation.example))
        kept = FREE.intersection(*(free_left(ir.rows[k].outcome, FREE) for k in violation.rows))
        assert not kept  # the named rows alone already remove every free channel


@SETTINGS
@given(doc=collect_documents(every_row_free=True))
def test_the_static_check_refuses_exactly_the_policies_brute_force_convicts(
    doc: dict[str, Any],
) -> None:
    policy = Policy.model_validate(doc)
    found = g1_problems(doc)
    assert bool(found) == bool(brute_force(policy))
    compiled = compile_policy(policy)
    for problem in found:
        assert problem.counter_example is not None
        decided = compiled.evaluate_row(problem.counter_example)
        assert problem.row_id in decided.rule_ids
        assert not FREE & set(decided.manual_channels)


@pytest.mark.parametrize("name", ["cn-default", "eu-example", "us-example"])
def test_the_shipped_policies_still_pass(name: str) -> None:
    policy = parse_policy(read_text(f"policies/{name}.yaml"))
    assert check_policy(policy, profiles=profiles()) == []
