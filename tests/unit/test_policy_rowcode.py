"""The compiled row function decides exactly as the row form's closures, on any Python value."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.core.policy import Policy, compile_policy
from repayguard.core.policy.rowform import RowEvaluator

DEFAULT_THEN = {"auto_debit": "optional", "early_repayment": "allowed", "manual": "allowed"}
INPUTS = {
    "n": {"type": "number"},
    "i": {"type": "integer"},
    "s": {"type": "string", "enum": ["A", "B", "C"]},
    "b": {"type": "boolean"},
    "d": {"type": "date"},
}
_CELLS = {
    "n": st.sampled_from(
        [
            "-",
            ">= 1",
            "< 0.5",
            "> -1",
            "<= 2",
            "[1..2]",
            "(0..1]",
            "not in [0..1]",
            "== 1",
            "1, 2",
            "null",
            "!= null",
            "< 0, > 1",
            "> 2, null",
            "> 0 and < 2",
        ]
    ),
    "i": st.sampled_from([">= 3", "[1..2]", "0, null", "!= 1", "-"]),
    "s": st.sampled_from(['"A"', '"A", "B"', 'not in ["A"]', '!= "C"', "null", '"A", null']),
    "b": st.sampled_from(["true", "false", "null", "!= true", "true, null", "-"]),
    "d": st.sampled_from(['d("2025-01-01")', '>= d("2025-01-01")', "null", "-"]),
}


class _Tag(str):
    """A string subclass, as an enum member of a caller's own type might be."""


# values of every declared type, and of the wrong ones: the function must not tell them apart
# differently from the closures
_ODD = [
    None,
    True,
    False,
    0,
    1,
    2,
    3,
    -1,
    0.5,
    1.0,
    2.5,
    math.nan,
    math.inf,
    np.float64(1.0),
    np.int64(3),
    Decimal("1"),
    "A",
    "B",
    "C",
    _Tag("A"),
    "1",
    [1],
    ["A"],
    {"A": 1},
    date(2025, 1, 1),
    date(2024, 12, 31),
]


@st.composite
def _policies(draw: st.DrawFn) -> Policy:
    rows = []
    for k in range(draw(st.integers(0, 6))):
        names = draw(st.lists(st.sampled_from(sorted(_CELLS)), min_size=1, max_size=4, unique=True))
        rows.append(
            {
                "id": f"r{k}",
                "when": {name: draw(_CELLS[name]) for name in names},
                "then": draw(st.sampled_from(["keep", {"auto_debit": "mandatory"}, {}])),
                "reasons": draw(st.lists(st.sampled_from(["HIGH_RISK_TIER", "DEFAULT_TERMS"]))),
            }
        )
    if draw(st.booleans()) or not rows:
        rows.append({"id": "default", "then": DEFAULT_THEN})
    return Policy.model_validate(
        {
            "name": "generated",
            "owner": "tests",
            "jurisdiction": "CN",
            "channels": {"a": {"free": True}},
            "inputs": INPUTS,
            "hit_policy": draw(st.sampled_from(["first", "collect"])),
            "rows": rows,
        }
    )


_inputs = st.dictionaries(st.sampled_from(sorted(INPUTS)), st.sampled_from(_ODD))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=_policies(), inputs=st.lists(_inputs, min_size=1, max_size=20))
def test_compiled_rows_decide_as_the_closures_on_any_value(
    policy: Policy, inputs: list[dict[str, Any]]
) -> None:
    compiled = compile_policy(policy)
    reference = RowEvaluator(compiled.ir).evaluate
    for given_inputs in inputs:
        assert compiled.evaluate_row(given_inputs) == reference(given_inputs), given_inputs


def test_a_collect_policy_reuses_the_merged_outcome_of_a_mask() -> None:
    policy = Policy.model_validate(
        {
            "name": "generated",
            "owner": "tests",
            "jurisdiction": "CN",
            "channels": {"a": {"free": True}},
            "inputs": INPUTS,
            "hit_policy": "collect",
            "rows": [
                {"id": "r0", "when": {"b": "true"}, "then": {"auto_debit": "mandatory"}},
                {"id": "r1", "when": {"s": '"A"'}, "then": {"early_repayment": "restricted"}},
                {"id": "default", "then": DEFAULT_THEN},
            ],
        }
    )
    compiled = compile_policy(policy)
    first = compiled.evaluate_row({"b": True, "s": "A"})
    assert first.rule_ids == ("r0", "r1")
    assert (first.auto_debit, first.early_repayment) == ("mandatory", "restricted")
    assert compiled.evaluate_row({"b": True, "s": "A"}) is first
    assert compiled.evaluate_row({}).rule_ids == ("default",)
