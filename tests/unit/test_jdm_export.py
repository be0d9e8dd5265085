"""A repayguard policy exported to JDM: zen-engine decides a generated portfolio as repayguard
does, the graph has what the GoRules editor expects, and it imports back into repayguard."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import polars as pl
import pytest
import zen

from repayguard.core.policy import CompiledPolicy, Policy, RowDecision, merge
from repayguard.core.policy.jdm import to_jdm, zen_context
from repayguard.policies import compile_checked, load_policy_text, profiles
from repayguard.resources import read_text
from repayguard.rules.jdm import evaluate, evaluate_frame, import_graph

SHIPPED = ["policies/cn-default.yaml", "policies/eu-example.yaml", "policies/us-example.yaml"]


def _compiled(resource: str) -> CompiledPolicy:
    known = profiles()
    return compile_checked(load_policy_text(read_text(resource), profiles=known), profiles=known)


def portfolio(policy: Policy, rows: int, seed: int) -> list[dict[str, Any]]:
    """Borrowers with every declared input: values at the cells' boundaries often, random
    otherwise, and some inputs left out."""
    rng = np.random.default_rng(seed)
    out: list[dict[str, Any]] = []
    for _ in range(rows):
        row: dict[str, Any] = {}
        for name, spec in policy.inputs.items():
            if rng.random() < 0.05:
                continue
            if spec.type == "string":
                row[name] = str(rng.choice(list(spec.enum or ("a", "b"))))
            elif spec.type == "boolean":
                row[name] = bool(rng.random() < 0.1)
            elif spec.type == "integer":
                row[name] = int(rng.choice([0, 1, 2, 3, 4, 29, 30, 31, 59, 60, 61, 90]))
            elif spec.type == "number":
                low = spec.minimum if spec.minimum is not None else 0.0
                high = spec.maximum if spec.maximum is not None else 2.0
                row[name] = round(float(rng.uniform(low, high)), 3)
        out.append(row)
    return out


def _decision(result: dict[str, Any]) -> RowDecision:
    return RowDecision(
        rule_id=result["rule_id"],
        auto_debit=result["auto_debit"],
        early_repayment=result["early_repayment"],
        manual=result["manual"],
        manual_channels=tuple(result["manual_channels"]),
        reasons=tuple(result["reasons"]),
        requires_approval=result["requires_approval"],
        notice_days=result["notice_days"],
        max_days=result.get("max_days"),
        review_after_days=result.get("review_after_days"),
        keep=result["keep"],
        rule_ids=(result["rule_id"],),
    )


@pytest.mark.parametrize("resource", SHIPPED)
def test_zen_decides_an_exported_policy_as_repayguard_does(resource: str) -> None:
    compiled = _compiled(resource)
    decision = zen.ZenEngine().create_decision(json.dumps(to_jdm(compiled.policy)))
    for inputs in portfolio(compiled.policy, 1500, seed=5):
        ours = compiled.evaluate_row(inputs)
        theirs = decision.evaluate(zen_context(inputs))["result"]
        if compiled.hit_policy == "first":
            expected = {k: v for k, v in ours.as_dict().items() if k != "rule_ids"}
            assert theirs == {k: v for k, v in expected.items() if v is not None}, inputs
        elif theirs:
            merged = merge([_decision(r) for r in theirs])
            assert merged.as_dict() | {"rule_ids": list(ours.rule_ids)} == ours.as_dict(), inputs
        else:
            assert ours.rule_id == "default", inputs


@pytest.mark.parametrize("resource", SHIPPED)
def test_an_exported_policy_imports_back_and_decides_as_zen(resource: str) -> None:
    compiled = _compiled(resource)
    document = to_jdm(compiled.policy)
    graph = import_graph(document)
    decision = zen.ZenEngine().create_decision(json.dumps(document))
    requests = [zen_context(r) for r in portfolio(compiled.policy, 300, seed=9)]
    for request in requests:
        assert evaluate(graph, request) == decision.evaluate(request)["result"], request
    frame = pl.DataFrame(
        [{name: r.get(name) for name in compiled.policy.inputs} for r in requests],
        schema={
            name: {"string": pl.String, "boolean": pl.Boolean, "integer": pl.Int64}.get(
                spec.type, pl.Float64
            )
            for name, spec in compiled.policy.inputs.items()
        },
    )
    batch = evaluate_frame(graph, frame).to_dicts()
    for row, got in zip(frame.to_dicts(), batch, strict=True):
        want = evaluate(graph, row)
        if isinstance(want, list):
            assert got["result"] == want
        else:
            assert {k: v for k, v in got.items() if v is not None} == want


def test_the_exported_graph_has_what_the_editor_expects() -> None:
    policy = _compiled("policies/cn-default.yaml").policy
    document = to_jdm(policy)
    assert document["contentType"] == "application/vnd.gorules.decision"
    kinds = [n["type"] for n in document["nodes"]]
    assert kinds == ["inputNode", "decisionTableNode", "outputNode"]
    ids = {n["id"] for n in document["nodes"]}
    assert all({"id", "name", "position"} <= n.keys() for n in document["nodes"])
    assert all(e["sourceId"] in ids and e["targetId"] in ids for e in document["edges"])
    table = document["nodes"][1]["content"]
    columns = {c["id"] for c in table["inputs"] + table["outputs"]}
    assert all(set(rule) - {"_id", "_description"} <= columns for rule in table["rules"])
    assert [r["_id"] for r in table["rules"]] == [r.id for r in policy.rows]
    assert to_jdm(policy) == document, "exporting twice gives the same file"
