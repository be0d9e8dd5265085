"""Reachability checks: shadowed rows, rows nothing can match, gaps -- exact, with examples."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.policy import (
    Policy,
    PolicyInvalid,
    PolicyProblem,
    check_policy,
    compile_policy,
    load_policy,
)
from repayguard.core.policy.analysis import UNKNOWN, domain, row_box, uncovered
from repayguard.core.policy.ir import build_ir

INPUTS: dict[str, Any] = {
    "tier": {"type": "string", "enum": ["T1", "T2", "T3", "T4", "T5"], "nullable": False},
    "dpd": {"type": "integer", "minimum": 0},
    "pd": {"type": "number", "minimum": 0, "maximum": 1},
    "flag": {"type": "boolean"},
}
OPEN = {
    "auto_debit": "optional",
    "early_repayment": "allowed",
    "manual": "allowed",
    "manual_channels": ["app"],
}


def doc(*rows: dict[str, Any], default: bool = True) -> dict[str, Any]:
    table = [{**r, "then": r.get("then", "keep")} for r in rows]
    if default:
        table.append({"id": "default", "then": OPEN})
    return {
        "name": "checks",
        "owner": "risk",
        "jurisdiction": "CN",
        "channels": {"app": {"free": True}},
        "inputs": INPUTS,
        "rows": table,
    }


def problems(document: dict[str, Any]) -> list[PolicyProblem]:
    return check_policy(Policy.model_validate(document))


def test_a_row_covered_by_one_earlier_row_is_unreachable_with_an_example() -> None:
    [problem] = problems(
        doc({"id": "late", "when": {"dpd": ">= 30"}}, {"id": "later", "when": {"dpd": "> 60"}})
    )
    assert (problem.row_id, problem.field) == ("later", "when")
    assert "['late']" in problem.message
    assert problem.counter_example == {"dpd": 61}


def test_a_row_covered_only_by_several_earlier_rows_together_is_unreachable() -> None:
    [problem] = problems(
        doc(
            {"id": "low", "when": {"dpd": "[0..10]"}},
            {"id": "high", "when": {"dpd": "> 10"}},
            {"id": "some", "when": {"dpd": "[5..20]", "tier": '"T4"'}},
        )
    )
    assert problem.row_id == "some"
    assert "['low', 'high']" in problem.message


def test_integer_inputs_have_no_values_between_whole_numbers() -> None:
    # [0..29] and >= 30 cover every whole number of days; for a real number 29.5 would be open.
    covered = problems(
        doc(
            {"id": "a", "when": {"dpd": "[0..29]"}},
            {"id": "b", "when": {"dpd": ">= 30"}},
            {"id": "c", "when": {"dpd": "!= null", "flag": "true"}},
        )
    )
    assert [p.row_id for p in covered] == ["c"]
    real = {**INPUTS, "dpd": {"type": "number", "minimum": 0}}
    assert (
        problems(
            {
                **doc(
                    {"id": "a", "when": {"dpd": "[0..29]"}},
                    {"id": "b", "when": {"dpd": ">= 30"}},
                    {"id": "c", "when": {"dpd": "!= null", "flag": "true"}},
                ),
                "inputs": real,
            }
        )
        == []
    )


def test_declared_ranges_bound_the_reasoning() -> None:
    [empty] = problems(doc({"id": "neg", "when": {"dpd": "< 0"}}))
    assert (empty.row_id, empty.field) == ("neg", "when.dpd")
    assert "no input can match" in empty.message
    [beyond] = problems(doc({"id": "pd", "when": {"pd": "> 1"}}))
    assert beyond.row_id == "pd"
    # enum and nullable: the five tiers cover a non-nullable tier
    assert (
        problems(
            doc(
                {"id": "low", "when": {"tier": '"T1", "T2", "T3"'}},
                {"id": "high", "when": {"tier": '["T4", "T5"]'}},
                {"id": "never", "when": {"flag": "true"}},
            )
        )[0].row_id
        == "never"
    )


def test_contradictory_cells_make_a_row_that_nothing_matches() -> None:
    [problem] = problems(doc({"id": "odd", "when": {"dpd": "> 5 and < 3"}}))
    assert problem.row_id == "odd"
    assert "no value of dpd" in problem.message


def test_a_policy_without_default_row_must_cover_every_input() -> None:
    [gap] = problems(
        doc(
            {"id": "low", "when": {"dpd": "[0..29]"}, "then": OPEN},
            {"id": "high", "when": {"dpd": "> 30"}, "then": OPEN},
            default=False,
        )
    )
    assert (gap.row_id, gap.field) == (None, "rows")
    assert gap.counter_example in ({"dpd": 30}, {"dpd": None})
    whole = problems(
        doc(
            {"id": "low", "when": {"dpd": "null, [0..29]"}, "then": OPEN},
            {"id": "high", "when": {"dpd": ">= 30"}, "then": OPEN},
            default=False,
        )
    )
    assert whole == []


def test_a_null_test_that_zen_never_reaches_is_refused() -> None:
    [problem] = problems(doc({"id": "late", "when": {"dpd": "[0..29], null"}}))
    assert (problem.row_id, problem.field) == ("late", "when.dpd")
    assert "never matches null" in problem.message
    assert "put null first" in problem.message


def test_collect_rows_are_never_called_shadowed() -> None:
    document = doc({"id": "a", "when": {"dpd": ">= 1"}}, {"id": "b", "when": {"dpd": ">= 2"}})
    assert problems({**document, "hit_policy": "collect"}) == []


def test_the_shipped_shape_of_finding_is_readable() -> None:
    text = yaml.safe_dump(
        doc({"id": "late", "when": {"dpd": ">= 30"}}, {"id": "later", "when": {"dpd": "> 60"}})
    )
    with pytest.raises(PolicyInvalid) as caught:
        load_policy(text)
    assert "row 'later', when: unreachable under the first hit policy" in str(caught.value)
    assert "(e.g. {'dpd': 61})" in str(caught.value)


def test_coverage_gives_up_rather_than_guessing_past_its_budget() -> None:
    policy = Policy.model_validate(
        doc(*[{"id": f"r{k}", "when": {"dpd": f"[{k}..{k}]", "pd": "< 0.5"}} for k in range(30)])
    )
    ir = build_ir(policy)
    boxes = [row_box(r, policy.inputs) for r in ir.rows]
    everything = {"dpd": domain(policy.inputs["dpd"]), "pd": domain(policy.inputs["pd"])}
    assert uncovered(everything, boxes, policy.inputs, budget=3) == UNKNOWN
    assert isinstance(uncovered(everything, boxes, policy.inputs), dict)


# -- property: the analysis equals brute force over every distinct input -----------------------

_dpd_cells = st.sampled_from(
    [
        "-",
        ">= 3",
        "< 2",
        "[1..3]",
        "(1..4)",
        "2, 4",
        "!= 2",
        "not in [1..2]",
        "null",
        "> 1 and < 4",
        "!= null",
        "0, null",
    ]
)
_tier_cells = st.sampled_from(['"T1"', '"T1", "T2"', '!= "T5"', 'not in ["T1", "T4"]', "-"])
_flag_cells = st.sampled_from(["true", "false", "null", "!= true", "-"])
_GRID = {  # whole days around every literal, each tier, each flag: every distinct case
    "dpd": [None, *range(0, 7)],
    "tier": ["T1", "T2", "T3", "T4", "T5"],
    "flag": [None, True, False],
}


@st.composite
def _tables(draw: st.DrawFn) -> dict[str, Any]:
    rows = []
    for i in range(draw(st.integers(1, 5))):
        when = {}
        for name, cells in (("dpd", _dpd_cells), ("tier", _tier_cells), ("flag", _flag_cells)):
            if draw(st.booleans()):
                when[name] = draw(cells)
        rows.append({"id": f"r{i}", "when": when or {"flag": "-"}, "then": OPEN})
    return doc(*rows, default=draw(st.booleans()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=_tables())
def test_unreachable_rows_and_gaps_are_exactly_those_brute_force_finds(
    document: dict[str, Any],
) -> None:
    policy = Policy.model_validate(document)
    compiled = compile_policy(policy)
    reached: set[int] = set()
    gap = False
    for values in itertools.product(*_GRID.values()):
        inputs = dict(zip(_GRID, values, strict=True))
        hit = compiled.first_hit(inputs)
        reached.add(hit)
        gap = gap or hit == -1
    found = problems(document)
    flagged = {p.row_id for p in found if p.row_id is not None}
    rows = policy.rows[:-1] if policy.default_row is not None else policy.rows
    expected = {row.id for index, row in enumerate(rows) if index not in reached}
    assert flagged == expected
    assert any(p.field == "rows" for p in found) == gap
    for problem in found:  # every example is a real input showing the finding
        example = problem.counter_example or {}
        if problem.field == "rows":
            assert compiled.first_hit(example) == -1
