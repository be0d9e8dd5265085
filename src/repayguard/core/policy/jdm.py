"""A minimal GoRules JDM export of a policy's decision table (request -> table -> response).

Every cell is ZEN unary syntax already, so cells are copied as written (``-`` becomes the empty
cell ZEN reads as "any"). Each rule outputs the row's id and effective outputs as ZEN literals.
Under ``collect`` the default row is left out -- ZEN would always include it -- and applies when
no rule matches, as in repayguard. Used by the benchmark and the differential tests against
``zen-engine``; full JDM import/export is a separate feature.
"""

from __future__ import annotations

import json
import math
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


def _literal(value: Any) -> str:
    """A ZEN expression evaluating to ``value`` (JSON literals are ZEN literals)."""
    return json.dumps(list(value) if isinstance(value, tuple) else value, ensure_ascii=False)


def to_jdm(policy: Policy) -> dict[str, Any]:
    """The policy's decision table as a JDM graph (a dict ready for ``json.dumps``)."""
    used = sorted({name for row in policy.rows for name in row.when})
    inputs = [{"id": f"in_{name}", "name": name, "field": name} for name in used]
    outputs = [{"id": f"out_{name}", "name": name, "field": name} for name in OUTPUTS]
    default = policy.default_row
    collect = policy.hit_policy == "collect"
    rules = []
    for row in policy.rows:
        if collect and row is default:
            continue
        decided = outcome(policy, row).as_dict()
        rule: dict[str, str] = {"_id": row.id}
        for name in used:
            text = row.when.get(name, "").strip()
            rule[f"in_{name}"] = "" if text == "-" else text
        for name in OUTPUTS:
            rule[f"out_{name}"] = _literal(decided[name])
        rules.append(rule)
    table = {
        "id": "table",
        "type": "decisionTableNode",
        "name": policy.name,
        "position": {"x": 300, "y": 0},
        "content": {
            "hitPolicy": "collect" if collect else "first",
            "inputs": inputs,
            "outputs": outputs,
            "rules": rules,
        },
    }
    return {
        "nodes": [
            {"id": "request", "type": "inputNode", "name": "Request", "position": {"x": 0, "y": 0}},
            table,
            {
                "id": "response",
                "type": "outputNode",
                "name": "Response",
                "position": {"x": 600, "y": 0},
            },
        ],
        "edges": [
            {"id": "e1", "sourceId": "request", "targetId": "table", "type": "edge"},
            {"id": "e2", "sourceId": "table", "targetId": "response", "type": "edge"},
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
