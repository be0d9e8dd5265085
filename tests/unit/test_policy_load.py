"""Loading policy documents: the shipped policy, schema errors, every problem at once."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from repayguard.config import SHIPPED_POLICY_NAME
from repayguard.core.policy import (
    PolicyInvalid,
    PolicyProblem,
    compile_policy,
    content_hash,
    load_policy,
    policy_json_schema,
)
from repayguard.core.reasons import is_known
from repayguard.resources import read_text

SHIPPED = read_text("policies/cn-default.yaml")


def make_policy(**overrides: Any) -> dict[str, Any]:
    """A small valid policy document as a mapping; override any top-level key."""
    doc: dict[str, Any] = {
        "name": "test-policy",
        "version": 3,
        "owner": "risk",
        "jurisdiction": "CN",
        "channels": {"app_balance": {"free": True}, "bank_transfer": {"free": False}},
        "inputs": {
            "tier": {"type": "string", "enum": ["T1", "T2", "T3", "T4", "T5"]},
            "failed_debits_30d": {"type": "number"},
            "open_appeal": {"type": "boolean"},
        },
        "rows": [
            {"id": "appeal", "when": {"open_appeal": "true"}, "then": "keep"},
            {
                "id": "failed-debits",
                "when": {"failed_debits_30d": ">= 3"},
                "then": {"auto_debit": "disabled"},
                "reasons": ["REPEATED_FAILED_DEBITS"],
                "max_days": 60,
                "review_after_days": 30,
            },
            {
                "id": "default",
                "then": {
                    "auto_debit": "optional",
                    "early_repayment": "allowed",
                    "manual": "allowed",
                    "manual_channels": ["app_balance", "bank_transfer"],
                },
            },
        ],
    }
    doc.update(overrides)
    return doc


def load(doc: dict[str, Any]) -> Any:
    return load_policy(yaml.safe_dump(doc, allow_unicode=True))


def problems_of(doc: dict[str, Any]) -> list[PolicyProblem]:
    with pytest.raises(PolicyInvalid) as caught:
        load(doc)
    return list(caught.value.problems)


def test_the_shipped_policy_loads_and_compiles() -> None:
    policy = load_policy(SHIPPED)
    compiled = compile_policy(policy)
    assert policy.name == "cn-consumer-credit-line" == SHIPPED_POLICY_NAME
    assert compiled.version == "draft", "a file states no number: the store assigns it"
    assert policy.default_row.id == "default"
    assert policy.free_channels == {
        "app_balance",
        "bank_card",
        "counter",
    }
    assert all(is_known(code) for row in policy.rows for code in row.reasons)


def test_version_numbers_become_text_and_yaml_scalars_become_cells() -> None:
    doc = make_policy()
    doc["rows"][1]["when"] = {"failed_debits_30d": 3, "open_appeal": False}
    policy = load(doc)
    assert policy.version == "3"
    assert policy.rows[1].when == {"failed_debits_30d": "3", "open_appeal": "false"}


def test_content_hash_is_stable_and_follows_the_content() -> None:
    a, b = load(make_policy()), load(make_policy())
    assert content_hash(a) == content_hash(b)
    assert len(content_hash(a)) == 64
    assert content_hash(load(make_policy(description="changed"))) != content_hash(a)


def test_schema_errors_name_the_row_and_field() -> None:
    doc = make_policy()
    doc["rows"][1]["then"] = {"auto_debit": "sometimes"}
    doc["rows"][1]["notice_days"] = -1
    found = {(p.row_id, p.field) for p in problems_of(doc)}
    assert ("failed-debits", "notice_days") in found
    assert any(row == "failed-debits" and field.startswith("then") for row, field in found)


def test_unknown_fields_are_refused() -> None:
    problems = problems_of(make_policy(colour="blue"))
    assert [(p.row_id, p.field) for p in problems] == [(None, "colour")]


def test_every_document_problem_is_reported_at_once() -> None:
    doc = make_policy()
    doc["rows"][0]["reasons"] = ["NO_SUCH_REASON"]
    doc["rows"][1]["id"] = "appeal"
    doc["rows"][1]["then"] = {"manual_channels": ["carrier_pigeon", "app_balance"]}
    doc["rows"][1]["when"] = {"failed_debits_30d": '"three"', "colour": "1"}
    found = {(p.row_id, p.field, p.message.split(" ")[0]) for p in problems_of(doc)}
    assert ("appeal", "reasons", "unknown") in found
    assert ("appeal", "id", "row") in found
    assert ("appeal", "then.manual_channels", "undeclared") in found
    assert ("appeal", "when.failed_debits_30d", "string") in found
    assert ("appeal", "when.colour", "unknown") in found


def test_a_condition_less_row_must_be_last_and_a_default_row_complete() -> None:
    doc = make_policy()
    doc["rows"] = [doc["rows"][2], doc["rows"][1]]
    doc["rows"][1]["id"] = "late"
    fields = {(p.row_id, p.field) for p in problems_of(doc)}
    assert ("default", "when") in fields  # no conditions before the last row
    assert ("late", "when") in fields  # and so the row after it is never reached
    incomplete = make_policy()
    incomplete["rows"][2]["then"] = {"auto_debit": "optional"}
    assert ("default", "then") in {(p.row_id, p.field) for p in problems_of(incomplete)}


def test_a_policy_may_omit_the_default_row_when_its_rows_cover_every_input() -> None:
    doc = make_policy(
        inputs={"open_appeal": {"type": "boolean", "nullable": False}},
        rows=[
            {"id": "appeal", "when": {"open_appeal": True}, "then": "keep"},
            {
                "id": "normal",
                "when": {"open_appeal": False},
                "then": {"manual_channels": ["app_balance"]},
                "max_days": 30,
                "review_after_days": 30,
            },
        ],
    )
    policy = load(doc)
    assert policy.default_row is None
    assert compile_policy(policy).evaluate_row({"open_appeal": False}).auto_debit == "optional"


def test_enum_values_are_checked_in_cells() -> None:
    doc = make_policy()
    doc["rows"][1]["when"] = {"tier": '"T6"'}
    assert [(p.field, p.message.split(" ")[0]) for p in problems_of(doc)] == [
        ("when.tier", "['T6']")
    ]


def test_invalid_yaml_is_one_problem() -> None:
    with pytest.raises(PolicyInvalid) as caught:
        load_policy("rows: [unclosed")
    assert caught.value.problems[0].field == "yaml"
    with pytest.raises(PolicyInvalid):
        load_policy("- a list")


def test_problem_text_is_readable() -> None:
    problem = PolicyProblem("r1", "when.x", "bad", {"x": 1})
    assert str(problem) == "row 'r1', when.x: bad (e.g. {'x': 1})"
    assert "1 problem(s)" in str(PolicyInvalid([problem]))


def test_the_shipped_json_schema_matches_the_policy_model() -> None:
    shipped = json.loads(read_text("schemas/policy.schema.json"))
    assert shipped == policy_json_schema()
    assert set(shipped["required"]) >= {"name", "owner", "jurisdiction", "rows"}
