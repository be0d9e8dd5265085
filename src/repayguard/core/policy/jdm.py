"""A policy's decision table as a GoRules JDM graph (request -> decision table -> response).

The graph is what the GoRules editor writes: a ``contentType``, an input node, one decision
table node and an output node, each with an id, a name and a position, joined by edges; the
table's columns and rules carry ids, and each rule its row's description. Ids are stable UUIDs
derived from the policy's name, so exporting the same policy twice gives the same file.

Every cell is ZEN unary syntax already, so cells are copied as written (``-`` becomes the empty
cell ZEN reads as "any"). Each rule outputs the row's id and its *effective* outcome (methods
the row leaves out filled from the default row) as ZEN literals, so the editor shows what each
row decides. Under ``first`` the graph's result is the decision. Under ``collect`` the table
returns every matching row, as GoRules collect tables do; repayguard merges them (the most
restrictive state per method, see docs/policy.md), which a ZEN table cannot express. The default
row is left out of a collect table -- ZEN would always include it -- and applies when no rule
matches, as in repayguard.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import date
from typing import Any, Final

from repayguard.core.policy.ir import outcome
from repayguard.core.policy.model import Policy

OUTPUTS: Final = (
    "rule_id",
    "auto_debit",
    "early_repayment",
    "manual",
    "manual_channels",
    "reasons",
    "requires_approval",
    "notice_days",
    "max_days",
    "review_after_days",
    "keep",
)
_LABELS: Final = {
    "rule_id": "Rule",
    "auto_debit": "Auto-debit",
    "early_repayment": "Early repayment",
    "manual": "Manual repayment",
    "manual_channels": "Manual channels",
    "reasons": "Reasons",
    "requires_approval": "Requires approval",
    "notice_days": "Notice days",
    "max_days": "Max days",
    "review_after_days": "Review after days",
    "keep": "Keep current methods",
}
_NAMESPACE: Final = uuid.UUID("0b7e3f8e-6f51-4c51-9d0e-2f1f3f4a9c11")
CONTENT_TYPE: Final = "application/vnd.gorules.decision"


def _literal(value: Any) -> str:
    """A ZEN expression evaluating to ``value`` (JSON literals are ZEN literals)."""
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def _ids(policy: Policy) -> Any:
    """Stable UUIDs for the parts of this policy's graph."""

    def make(*parts: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, "/".join((policy.name, *parts))))

    return make


def to_jdm(policy: Policy) -> dict[str, Any]:
    """The policy's decision table as a JDM graph (a dict ready for ``json.dumps``) that the
    GoRules editor opens and zen-engine evaluates like repayguard (see the module notes)."""
    make = _ids(policy)
    used = sorted({name for row in policy.rows for name in row.when})
    inputs = [{"id": make("input", name), "name": name, "field": name} for name in used]
    outputs = [
        {"id": make("output", name), "name": _LABELS[name], "field": name} for name in OUTPUTS
    ]
    default = policy.default_row
    collect = policy.hit_policy == "collect"
    rules = []
    for row in policy.rows:
        if collect and row is default:
            continue
        decided = outcome(policy, row).as_dict()
        rule: dict[str, str] = {"_id": row.id}
        if row.description:
            rule["_description"] = row.description.strip()
        for column, name in zip(inputs, used, strict=True):
            text = row.when.get(name, "").strip()
            rule[column["id"]] = "" if text == "-" else text
        for column, name in zip(outputs, OUTPUTS, strict=True):
            rule[column["id"]] = _literal(decided[name])
        rules.append(rule)
    request, table, response = (
        make("node", "request"),
        make("node", "table"),
        make("node", "response"),
    )
    return {
        "contentType": CONTENT_TYPE,
        "nodes": [
            {
                "id": request,
                "type": "inputNode",
                "name": "Request",
                "position": {"x": 80, "y": 200},
            },
            {
                "id": table,
                "type": "decisionTableNode",
                "name": policy.name,
                "position": {"x": 400, "y": 200},
                "content": {
                    "hitPolicy": "collect" if collect else "first",
                    "inputs": inputs,
                    "outputs": outputs,
                    "rules": rules,
                    "passThrough": False,
                    "inputField": None,
                    "outputPath": None,
                    "executionMode": "single",
                },
            },
            {
                "id": response,
                "type": "outputNode",
                "name": "Response",
                "position": {"x": 760, "y": 200},
            },
        ],
        "edges": [
            {"id": make("edge", "in"), "sourceId": request, "targetId": table, "type": "edge"},
            {"id": make("edge", "out"), "sourceId": table, "targetId": response, "type": "edge"},
        ],
    }


def zen_context(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs as ZEN reads them: dates as ``YYYY-MM-DD`` text, NaN as null."""
    out: dict[str, Any] = {}
    for name, value in inputs.items():
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, float) and math.isnan(value):
            value = None
        out[name] = value
    return out


def matched_rules(result: Any) -> list[str]:
    """The rule ids in a ZEN decision-table result (one object under first, a list under
    collect; an empty object or list when nothing matched)."""
    if isinstance(result, list):
        return [str(r["rule_id"]) for r in result if "rule_id" in r]
    if isinstance(result, dict) and "rule_id" in result:
        return [str(result["rule_id"])]
    return []
