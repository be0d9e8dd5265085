"""Diff, explain, impact and input coercion: the pure parts of reviewing a policy."""

from __future__ import annotations

from datetime import date
from typing import Any

import polars as pl
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from repayguard.core.policy import Policy, compile_policy, load_policy
from repayguard.core.policy.diff import diff_policies
from repayguard.core.policy.explain import explain
from repayguard.core.policy.impact import PORTFOLIO_SCHEMA, preview
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs
from repayguard.core.policy.outcome import looser
from repayguard.resources import read_text

CN_TEXT = read_text("policies/cn-default.yaml")
CN = load_policy(CN_TEXT)
OPEN = {
    "auto_debit": "optional",
    "early_repayment": "allowed",
    "manual": "allowed",
    "manual_channels": ["app_balance", "bank_card", "counter", "bank_transfer"],
}


def cn_with(change: Any) -> Policy:
    doc = yaml.safe_load(CN_TEXT)
    change(doc)
    return Policy.model_validate(doc)


# -- diff ---------------------------------------------------------------------------------------


def test_identical_policies_have_an_empty_diff() -> None:
    assert diff_policies(CN, CN).empty


def test_diff_reports_added_removed_changed_and_moved_rows() -> None:
    def change(doc: dict[str, Any]) -> None:
        rows = doc["rows"]
        rows[0], rows[1] = rows[1], rows[0]  # the two freezes swap places
        rows[2]["when"]["failed_debits_30d"] = ">= 2"
        rows[3]["reasons"] = ["DPD_30_PLUS"]
        del rows[4]
        rows.insert(-1, {"id": "new", "when": {"tier": '"T3"'}, "then": "keep"})
        doc["owner"] = "someone-else"
        doc["inputs"]["pd"]["maximum"] = 0.5
        doc["channels"]["counter"]["free"] = False

    found = diff_policies(CN, cn_with(change))
    kinds = {c.row_id: c.kind for c in found.rows}
    moved = {row for row, kind in kinds.items() if kind == "moved"}
    assert len(moved & {"appeal-freeze", "hardship-freeze"}) == 1  # one of the swapped pair
    assert {k: v for k, v in kinds.items() if k not in moved} == {
        "failed-debits": "changed",
        "severe-delinquency": "changed",
        "new": "added",
        "loan-cycling": "removed",
    }
    changed = {c.row_id: c.changes for c in found.rows}
    assert [(c.field, c.before, c.after) for c in changed["failed-debits"]] == [
        ("when.failed_debits_30d", ">= 3", ">= 2")
    ]
    assert [c.field for c in changed["severe-delinquency"]] == ["reasons"]
    assert [(c.field, c.after) for c in found.document] == [("owner", "someone-else")]
    assert [c.field for c in found.inputs] == ["inputs.pd"]
    assert [c.field for c in found.channels] == ["channels.counter"]
    assert found.counts() == {"added": 1, "removed": 1, "changed": 2, "moved": 1}
    assert found.as_dict()["before"]["name"] == "cn-consumer-credit-line"


def test_a_changed_default_shows_as_effective_changes_of_rows_that_inherit() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["rows"][-1]["then"]["early_repayment"] = "restricted"

    rows = {c.row_id: c for c in diff_policies(CN, cn_with(change)).rows}
    assert [c.field for c in rows["default"].changes] == ["then.early_repayment"]
    assert [c.field for c in rows["high-risk"].changes] == ["effective.early_repayment"]
    assert "severe-delinquency" not in rows  # it states early_repayment itself
    assert "appeal-freeze" not in rows  # keep rows inherit nothing they show


# -- explain ------------------------------------------------------------------------------------


def test_explain_traces_every_row_and_cell_with_the_reason() -> None:
    trace = explain(compile_policy(CN), coerce_inputs(CN, {"tier": "T4", "dpd_now": 12}))
    status = {r.row_id: r.status for r in trace.rows}
    assert status["elevated-risk-late"] == "decided"
    assert status["failed-debits"] == "not matched"
    assert status["low-risk"] == "not reached"
    assert status["default"] == "not reached"
    decided = next(r for r in trace.rows if r.row_id == "elevated-risk-late")
    assert [(c.input, c.verdict, c.why) for c in decided.cells] == [
        ("tier", "match", '"T4" == "T4": yes'),
        ("dpd_now", "match", "12 [1..29]: yes"),
    ]
    failed = next(r for r in trace.rows if r.row_id == "failed-debits").cells[0]
    assert failed.verdict == "error"
    assert "ZEN stops on the error" in failed.why
    assert trace.applied["auto_debit"] == "mandatory"
    assert trace.guardrail is None


def test_what_would_change_is_the_smallest_actionable_change_to_a_less_restrictive_outcome() -> (
    None
):
    compiled = compile_policy(CN)
    trace = explain(compiled, coerce_inputs(CN, {"tier": "T5", "dpd_now": 31}))
    first = trace.what_would_change[0]
    assert [(c.input, c.before, c.after) for c in first.changes] == [("dpd_now", 31, 29)]
    assert (first.rule_id, first.loosens) == ("high-risk", ("early_repayment",))
    assert all("tier" not in a.inputs for a in trace.what_would_change)  # not directly actionable
    relaxed = explain(compiled, coerce_inputs(CN, {"tier": "T1"}))
    assert relaxed.what_would_change == ()  # nothing is looser than everything open
    assert relaxed.why_none == "least_restrictive"


def test_explain_resolves_keep_with_the_current_methods() -> None:
    current = {**OPEN, "auto_debit": "mandatory"}
    trace = explain(compile_policy(CN), {"open_appeal": True}, current=current)
    assert trace.outcome["keep"] is True
    assert trace.applied == current


# -- impact -------------------------------------------------------------------------------------


def portfolio(*rows: tuple[str, int, dict[str, Any], dict[str, Any] | None]) -> pl.DataFrame:
    import json

    records = []
    for borrower, tier, inputs, current in rows:
        records.append(
            {
                "borrower_id": borrower,
                "tier": f"T{tier}",
                "inputs": json.dumps(inputs),
                **(
                    current
                    or dict.fromkeys(("auto_debit", "early_repayment", "manual", "manual_channels"))
                ),
            }
        )
    return pl.DataFrame(records, schema=PORTFOLIO_SCHEMA)


def test_impact_classes_each_method_move_and_resolves_keep() -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["rows"][5]["then"] = {"auto_debit": "disabled"}  # high-risk: mandatory -> disabled

    candidate = compile_policy(cn_with(change))
    mandatory = {**OPEN, "auto_debit": "mandatory"}
    report = preview(
        candidate,
        portfolio(
            ("B1", 5, {"tier": "T5"}, mandatory),  # loosens auto-debit
            ("B2", 5, {"tier": "T5", "open_appeal": True}, mandatory),  # keep: no change
            ("B3", 1, {"tier": "T1"}, {**OPEN, "manual_channels": ["app_balance"]}),  # gains
            ("B4", 5, {"tier": "T5"}, None),  # no entitlement yet
        ),
        samples=2,
    )
    assert (report.borrowers, report.changed, report.without_entitlement) == (4, 2, 1)
    assert report.by_method["auto_debit"] == {"tighten": 0, "loosen": 1}
    assert report.by_method["manual"] == {"tighten": 0, "loosen": 1}
    by_tier = {row["tier"]: row for row in report.by_tier}
    assert by_tier["T5"]["auto_debit_loosen"] == 1
    assert by_tier["T5"]["borrowers"] == 3
    assert {s["borrower_id"] for s in report.samples} == {"B1", "B3"}


# -- inputs -------------------------------------------------------------------------------------


def test_inputs_are_checked_against_their_declarations_all_at_once() -> None:
    spec = Policy.model_validate(
        {
            **yaml.safe_load(CN_TEXT),
            "inputs": {
                "tier": {"type": "string", "enum": ["T1", "T2"]},
                "dpd": {"type": "integer", "minimum": 0},
                "pd": {"type": "number", "maximum": 1},
                "flag": {"type": "boolean", "nullable": False},
                "since": {"type": "date"},
            },
            "rows": [{"id": "default", "then": OPEN}],
        }
    )
    ok = coerce_inputs(
        spec,
        {
            "tier": "T1",
            "dpd": 3.0,
            "pd": 0.5,
            "flag": True,
            "since": "2025-02-28",
            "borrower_id": "B1",
        },
    )
    assert ok == {
        "tier": "T1",
        "dpd": 3,
        "pd": 0.5,
        "flag": True,
        "since": date(2025, 2, 28),
        "borrower_id": "B1",
    }
    with pytest.raises(InputsInvalid) as caught:
        coerce_inputs(spec, {"tier": "T9", "dpd": 2.5, "pd": 2, "since": "2025-02-30"})
    assert set(caught.value.errors) == {"tier", "dpd", "pd", "flag", "since"}
    assert "required" in caught.value.errors["flag"]
    with pytest.raises(InputsInvalid, match="expected a number"):
        coerce_inputs(spec, {"flag": False, "dpd": True})


def test_explain_under_collect_marks_every_matching_row() -> None:
    eu = load_policy(read_text("policies/eu-example.yaml"))
    trace = explain(compile_policy(eu), coerce_inputs(eu, {"tier": "T5", "dpd_now": 31}))
    status = {r.row_id: r.status for r in trace.rows}
    assert status["late-high-risk"] == status["seriously-late"] == "matched"
    assert status["failed-debits"] == "not matched"
    assert status["default"] == "not reached"
    assert trace.outcome["rule_ids"] == ["late-high-risk", "seriously-late"]


_cn_inputs = st.fixed_dictionaries(
    {
        "tier": st.sampled_from(["T1", "T2", "T3", "T4", "T5"]),
        "dpd_now": st.integers(0, 70),
        "failed_debits_30d": st.integers(0, 5),
        "redraws_after_early_30d": st.integers(0, 4),
        "open_appeal": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None)
@given(raw=_cn_inputs)
def test_each_suggested_change_loosens_and_no_smaller_change_does(raw: dict[str, Any]) -> None:
    compiled = compile_policy(CN)
    inputs = coerce_inputs(CN, raw)
    trace = explain(compiled, inputs)
    assert bool(trace.what_would_change) != bool(trace.why_none)
    for alt in trace.what_would_change:
        changed = compiled.evaluate_row(alt.applied_to(inputs))
        assert changed.rule_id == alt.rule_id
        assert looser(changed.states(), trace.applied)
        if len(alt.changes) > 1:
            continue
        (c,) = alt.changes
        if isinstance(c.before, int) and isinstance(c.after, int):
            step = 1 if c.after > c.before else -1
            for between in range(c.before + step, c.after, step):
                closer = compiled.evaluate_row({**inputs, c.input: between})
                assert closer.keep or not looser(closer.states(), trace.applied)
