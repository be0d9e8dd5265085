"""Differential tests: our cells and decision tables decide exactly as zen-engine does.

zen-engine (GoRules' reference implementation) evaluates the same decision table, exported to
JDM, on the same inputs: numbers at and around every boundary, strings, booleans, dates and
nulls -- including values of the wrong type, where ZEN raises and the rule does not match.
"""

from __future__ import annotations

import json
import math
from datetime import date
from typing import Any

import zen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.policy import Policy, compile_policy, parse_cell
from repayguard.core.policy.compiler import cell_predicate
from repayguard.core.policy.jdm import matched_rules, to_jdm, zen_context

ENGINE = zen.ZenEngine()


def zen_table(cells: list[str]) -> Any:
    """A collect table over one input ``x``: rule ``r<k>`` holds cell ``k``."""
    rules = [
        {"_id": f"r{k}", "in_x": "" if c.strip() == "-" else c, "out": json.dumps(f"r{k}")}
        for k, c in enumerate(cells)
    ]
    content = {
        "nodes": [
            {"id": "in", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            {
                "id": "t",
                "type": "decisionTableNode",
                "name": "t",
                "position": {"x": 1, "y": 0},
                "content": {
                    "hitPolicy": "collect",
                    "inputs": [{"id": "in_x", "name": "x", "field": "x"}],
                    "outputs": [{"id": "out", "name": "rule_id", "field": "rule_id"}],
                    "rules": rules,
                },
            },
            {"id": "out", "type": "outputNode", "name": "Response", "position": {"x": 2, "y": 0}},
        ],
        "edges": [
            {"id": "a", "sourceId": "in", "targetId": "t", "type": "edge"},
            {"id": "b", "sourceId": "t", "targetId": "out", "type": "edge"},
        ],
    }
    return ENGINE.create_decision(json.dumps(content))


def assert_cells_agree(cells: list[str], values: list[Any]) -> None:
    decision = zen_table(cells)
    predicates = [cell_predicate(parse_cell(c)) for c in cells]
    for value in values:
        theirs = set(matched_rules(decision.evaluate(zen_context({"x": value}))["result"]))
        ours = {f"r{k}" for k, p in enumerate(predicates) if p(value)}
        assert ours == theirs, f"value {value!r}: ours {sorted(ours)}, zen {sorted(theirs)}"


_bound = st.sampled_from([-2, -1, -0.5, 0, 0.25, 0.3, 0.5, 1, 2, 3, 29, 30])
_number_test = st.one_of(
    st.builds(
        lambda op, k: f"{op} {k}", st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), _bound
    ),
    st.builds(str, _bound),
    st.builds(
        lambda neg, lo, hi, left, right: f"{neg}{left}{min(lo, hi)}..{max(lo, hi) + 1}{right}",
        st.sampled_from(["", "in ", "not in "]),
        _bound,
        _bound,
        st.sampled_from("[("),
        st.sampled_from("])"),
    ),
    st.builds(
        lambda a, b, neg: f"{neg}[{a}, {b}]", _bound, _bound, st.sampled_from(["", "not in "])
    ),
    st.sampled_from(["null", "== null", "!= null", "not in [1, null]", "true", '"T1"']),
)
_string_test = st.sampled_from(
    [
        '"T1"',
        "'T2'",
        '== "T1"',
        '!= "T1"',
        '["T1", "T3"]',
        'not in ["T1", "T2"]',
        "null",
        "!= null",
        "true",
    ]
)
_date_test = st.sampled_from(
    [
        'd("2025-01-15")',
        '< d("2025-01-15")',
        '>= d("2025-01-15")',
        '!= d("2025-01-15")',
        '<= d("2024-12-31")',
        "null",
    ]
)


def _joined(tests: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda parts, joins: "".join(
            f"{t}{j}" for t, j in zip(parts, [*joins[: len(parts) - 1], ""], strict=True)
        ),
        st.lists(tests, min_size=1, max_size=3),
        st.lists(st.sampled_from([", ", " or ", " and "]), min_size=2, max_size=2),
    )


def _around(bounds: list[float]) -> list[Any]:
    out: list[Any] = []
    for b in bounds:
        out += [b, b - 1, b + 1, b - 0.5, b + 0.5, b - 1e-9, b + 1e-9]
        # the engine reads a float as ~16 digits: the next floats may read as b itself
        below, above = math.nextafter(b, -math.inf), math.nextafter(b, math.inf)
        out += [below, above, math.nextafter(below, -math.inf), math.nextafter(above, math.inf)]
    return out


NUMBER_VALUES = [
    *_around([-2, -1, -0.5, 0, 0.25, 0.3, 0.5, 1, 2, 3, 29, 30, 31]),
    0.1 + 0.2,
    None,
    "T1",
    "1",
    True,
    False,
    4,
    10**6,
]
STRING_VALUES = [None, "T1", "T2", "T3", "", "t1", 1, True]
DATE_VALUES = [
    None,
    date(2024, 12, 31),
    date(2025, 1, 14),
    date(2025, 1, 15),
    date(2025, 1, 16),
    "T1",
    20250115,
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cells=st.lists(_joined(_number_test), min_size=1, max_size=6))
def test_number_cells_match_zen_at_and_around_every_boundary(cells: list[str]) -> None:
    assert_cells_agree(cells, NUMBER_VALUES)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(_joined(_string_test), min_size=1, max_size=6))
def test_string_cells_match_zen(cells: list[str]) -> None:
    assert_cells_agree(cells, STRING_VALUES)


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(_joined(_date_test), min_size=1, max_size=6))
def test_date_cells_match_zen(cells: list[str]) -> None:
    assert_cells_agree(cells, DATE_VALUES)


def test_any_cells_and_boolean_cells_match_zen() -> None:
    assert_cells_agree(["-", "", "true", "false", "!= true", "true, null"], [None, True, False, 0])


# -- whole tables: first and collect, rows and outputs ------------------------------------------

INPUTS = {
    "n": {"type": "number"},
    "i": {"type": "integer"},
    "s": {"type": "string"},
    "b": {"type": "boolean"},
    "d": {"type": "date"},
}
_cells = {
    "n": _joined(_number_test.filter(lambda t: t not in ("true", '"T1"'))),
    "i": st.sampled_from([">= 3", "[1..2]", "0, null", "!= 1", "not in [0..1]"]),
    "s": _string_test.filter(lambda t: t != "true"),
    "b": st.sampled_from(["true", "false", "!= true", "null", "-"]),
    "d": _date_test,
}


@st.composite
def _policies(draw: st.DrawFn) -> Policy:
    rows = []
    for k in range(draw(st.integers(1, 5))):
        names = draw(st.lists(st.sampled_from(sorted(_cells)), min_size=1, max_size=3, unique=True))
        then = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "auto_debit": st.sampled_from(["optional", "mandatory", "disabled"]),
                    "manual_channels": st.lists(st.sampled_from(["a", "b"]), unique=True),
                },
            )
        )
        rows.append(
            {
                "id": f"r{k}",
                "when": {n: draw(_cells[n]) for n in names},
                "then": then,
                "reasons": draw(st.lists(st.sampled_from(["EARLY_DELINQUENCY", "DEFAULT_TERMS"]))),
            }
        )
    rows.append(
        {
            "id": "default",
            "then": {
                "auto_debit": "optional",
                "early_repayment": "allowed",
                "manual": "allowed",
                "manual_channels": ["a"],
            },
        }
    )
    return Policy.model_validate(
        {
            "name": "diff",
            "owner": "t",
            "jurisdiction": "CN",
            "inputs": INPUTS,
            "channels": {"a": {"free": True}, "b": {"free": False}},
            "rows": rows,
            "hit_policy": draw(st.sampled_from(["first", "collect"])),
        }
    )


_inputs = st.fixed_dictionaries(
    {
        "n": st.sampled_from([*NUMBER_VALUES[:40], None]),
        "i": st.sampled_from([None, 0, 1, 2, 3, 4]),
        "s": st.sampled_from([None, "T1", "T2", "T3"]),
        "b": st.sampled_from([None, True, False]),
        "d": st.sampled_from(DATE_VALUES[:5]),
    }
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=_policies(), inputs=st.lists(_inputs, min_size=1, max_size=15))
def test_whole_tables_decide_the_same_rows_and_outputs_as_zen(
    policy: Policy, inputs: list[dict[str, Any]]
) -> None:
    compiled = compile_policy(policy)
    decision = ENGINE.create_decision(json.dumps(to_jdm(policy)))
    for given_inputs in inputs:
        result = decision.evaluate(zen_context(given_inputs))["result"]
        ours = compiled.evaluate_row(given_inputs)
        if policy.hit_policy == "first":
            assert matched_rules(result) == [ours.rule_id], given_inputs
            expected = {k: v for k, v in ours.as_dict().items() if k != "rule_ids"}
            assert result == {k: v for k, v in expected.items() if v is not None}  # ZEN drops nulls
        else:
            theirs = matched_rules(result)
            assert tuple(theirs) == (compiled.matched(given_inputs)), given_inputs
            assert tuple(theirs or ["default"]) == ours.rule_ids
