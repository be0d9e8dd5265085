"""``repayguard policy import-jdm`` / ``export-jdm`` / ``eval`` as a person runs them, checked
against zen-engine on graphs written for this test (never seen by the conformance harness):
switch routing, expression chains with ``$`` and closures, collect tables with nested output
paths, loops over lists, nested request objects, and a refused JavaScript function node.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml
import zen
from typer.testing import CliRunner

from repayguard.cli.policy import policy_app
from repayguard.resources import read_text

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(policy_app, list(args), env={"COLUMNS": "200"})


def said(result: Any) -> str:
    return " ".join(str(result.output).split())


def node(node_id: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": node_id,
        "type": kind,
        "name": node_id,
        "position": {"x": 0, "y": 0},
    }
    return {**out, "content": content} if content is not None else out


def edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    out = {
        "id": f"{source}>{target}>{handle}",
        "sourceId": source,
        "targetId": target,
        "type": "edge",
    }
    return {**out, "sourceHandle": handle} if handle else out


def table(
    node_id: str, fields: list[str], outputs: list[str], rules: list[list[str]], **more: Any
) -> dict[str, Any]:
    inputs = [
        {"id": f"{node_id}-i{k}", "name": f"in {k}", "field": f} for k, f in enumerate(fields)
    ]
    outs = [
        {"id": f"{node_id}-o{k}", "name": f"out {k}", "field": f} for k, f in enumerate(outputs)
    ]
    ids = [c["id"] for c in inputs + outs]
    rows = [
        {"_id": f"{node_id}-r{j}", **dict(zip(ids, r, strict=True))} for j, r in enumerate(rules)
    ]
    content = {
        "hitPolicy": more.pop("hit", "first"),
        "inputs": inputs,
        "outputs": outs,
        "rules": rows,
    }
    return node(node_id, "decisionTableNode", {**content, **more})


def expressions(node_id: str, pairs: list[tuple[str, str]], **more: Any) -> dict[str, Any]:
    items = [{"id": f"{node_id}-e{k}", "key": a, "value": b} for k, (a, b) in enumerate(pairs)]
    return node(node_id, "expressionNode", {"expressions": items, **more})


def switch(node_id: str, statements: list[tuple[str, str]], hit: str = "first") -> dict[str, Any]:
    items = [{"id": s, "condition": c} for s, c in statements]
    return node(node_id, "switchNode", {"hitPolicy": hit, "statements": items})


COLLECTIONS = {
    "nodes": [
        node("request", "inputNode"),
        switch("route", [("late", "borrower.dpd > 30"), ("watch", "borrower.dpd > 0"), ("ok", "")]),
        table(
            "late-table",
            ["borrower.dpd", "borrower.tier"],
            ["decision.auto_debit", "decision.reasons"],
            [
                [">= 60", '"T4", "T5"', '"mandatory"', '["DPD_60_PLUS", "HIGH_RISK"]'],
                [">= 60", "", '"disabled"', '["DPD_60_PLUS"]'],
                ["", "", '"optional"', '["DPD_30_PLUS"]'],
            ],
            passThrough=True,
        ),
        expressions(
            "watch-calc",
            [
                ("watch.overdue", "filter(borrower.payments, #.late)"),
                ("watch.count", "count(borrower.payments, #.late)"),
                ("watch.amount", "sum(map($.watch.overdue, #.amount))"),
                ("watch.all_small", "all(borrower.payments, #.amount < 100)"),
                (
                    "watch.note",
                    "`${borrower.tier ?? 'T?'}: ${len(borrower.payments ?? [])} payments`",
                ),
                (
                    "watch.level",
                    "$.watch.count > 1 ? 'high' : ($.watch.count == 1 ? 'low' : 'none')",
                ),
            ],
            passThrough=True,
        ),
        table(
            "flags",
            ["borrower.tier"],
            ["flags.code", "flags.detail.weight"],
            [
                ['"T5"', '"tier"', "5"],
                ['startsWith($, "T")', '"named"', "1"],
                ["", '"any"', "0"],
            ],
            hit="collect",
            outputPath="review",
        ),
        node("response", "outputNode"),
    ],
    "edges": [
        edge("request", "route"),
        edge("route", "late-table", "late"),
        edge("route", "watch-calc", "watch"),
        edge("route", "flags", "ok"),
        edge("late-table", "response"),
        edge("watch-calc", "response"),
        edge("flags", "response"),
    ],
}

LOOPS = {
    "nodes": [
        node("request", "inputNode"),
        expressions(
            "lines",
            [
                ("net", "amount - (fee ?? 0)"),
                ("big", "$.net > 50"),
                ("label", "upper(trim(kind ?? ''))"),
            ],
            inputField="items",
            outputPath="lines",
            executionMode="loop",
            passThrough=True,
        ),
        table(
            "kinds",
            ["kind", "amount"],
            ["ok"],
            [['"card"', "[0..500]", "true"], ['"cash"', "< 100", "true"], ["", "", "false"]],
            inputField="items",
            outputPath="checks",
            executionMode="loop",
        ),
        expressions(
            "totals",
            [
                ("total", "sum(map(items, #.amount))"),
                ("kinds", "map(filter(items, #.kind != null), lower(#.kind))"),
                (
                    "share",
                    "len(items) > 0 ? round(count(items, #.amount > 50) / len(items), 2) : 0",
                ),
                ("first", "items[0].kind"),
                ("has_card", "some(items, #.kind == 'card')"),
                ("in_range", "len(items) in [1..3]"),
            ],
        ),
        node("response", "outputNode"),
    ],
    "edges": [
        edge("request", "lines"),
        edge("request", "kinds"),
        edge("request", "totals"),
        edge("lines", "response"),
        edge("kinds", "response"),
        edge("totals", "response"),
    ],
}


def _borrower(rng: random.Random) -> dict[str, Any]:
    if rng.random() < 0.05:
        return {}
    payments = [
        {"amount": rng.choice([5, 50, 99, 100, 150.5]), "late": rng.random() < 0.4}
        for _ in range(rng.randint(0, 4))
    ]
    out: dict[str, Any] = {
        "dpd": rng.choice([None, -1, 0, 1, 29, 30, 31, 59, 60, 61, 120]),
        "tier": rng.choice([None, "T1", "T3", "T4", "T5", "X"]),
    }
    if rng.random() < 0.9:
        out["payments"] = payments
    return {"borrower": out}


def _items(rng: random.Random) -> dict[str, Any]:
    items = [
        {
            "amount": rng.choice([0, 10, 49, 50, 51, 99.5, 100, 500, 501]),
            "fee": rng.choice([None, 0, 2.5, 10]),
            "kind": rng.choice([None, "card", "cash", " Card ", "wire"]),
        }
        for _ in range(rng.randint(0, 4))
    ]
    return {"items": items}


def _check_against_zen(
    tmp_path: Path, name: str, graph: dict[str, Any], requests: list[Any]
) -> None:
    source = tmp_path / f"{name}.json"
    source.write_text(json.dumps(graph), encoding="utf-8")
    imported = invoke("import-jdm", str(source), "--out", str(tmp_path / "graphs"))
    assert imported.exit_code == 0, imported.output
    stored = tmp_path / "graphs" / f"{name}.yaml"
    document = yaml.safe_load(stored.read_text(encoding="utf-8"))
    assert document["kind"] == "decision-graph"
    assert document["source"]["file"] == f"{name}.json"
    assert len(document["content_hash"]) == 64
    lines = tmp_path / f"{name}-in.jsonl"
    lines.write_text("".join(json.dumps(r) + "\n" for r in requests), encoding="utf-8")
    out = tmp_path / f"{name}-out.jsonl"
    evaluated = invoke("eval", str(stored), "--input", str(lines), "--out", str(out))
    results = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(results) == len(requests)
    decision = zen.ZenEngine().create_decision(json.dumps(graph))
    failures = 0
    for number, (request, ours) in enumerate(zip(requests, results, strict=True), start=1):
        try:
            theirs = decision.evaluate(request)["result"]
        except RuntimeError:
            failures += 1
            assert isinstance(ours, dict), (request, ours)
            assert ours.get("line") == number, (request, ours)
            assert "error" in ours, (request, ours)
            continue
        assert ours == theirs, f"line {number}: {request}"
    assert evaluated.exit_code == (1 if failures else 0), evaluated.output


def test_switches_closures_and_collect_tables_evaluate_like_zen(tmp_path: Path) -> None:
    rng = random.Random(7)
    _check_against_zen(tmp_path, "collections", COLLECTIONS, [_borrower(rng) for _ in range(400)])


def test_loops_over_lists_evaluate_like_zen(tmp_path: Path) -> None:
    rng = random.Random(11)
    _check_against_zen(tmp_path, "loops", LOOPS, [_items(rng) for _ in range(400)])


def test_a_function_node_is_refused_naming_the_node(tmp_path: Path) -> None:
    graph = {
        "nodes": [
            node("request", "inputNode"),
            node("js", "functionNode", {"source": "export const handler = async () => ({})"}),
            expressions("calc", [("x", "rand(10)")]),
        ],
        "edges": [edge("request", "js"), edge("request", "calc")],
    }
    source = tmp_path / "with-js.json"
    source.write_text(json.dumps(graph), encoding="utf-8")
    result = invoke("import-jdm", str(source), "--out", str(tmp_path / "graphs"))
    assert result.exit_code == 1
    text = said(result)
    assert "'js'" in text
    assert "JavaScript function node" in text
    assert "'calc'" in text
    assert "rand(10)" in text
    assert not (tmp_path / "graphs").exists()


def test_a_stored_graph_edited_after_import_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "loops.json"
    source.write_text(json.dumps(LOOPS), encoding="utf-8")
    assert invoke("import-jdm", str(source), "--out", str(tmp_path)).exit_code == 0
    stored = tmp_path / "loops.yaml"
    stored.write_text(stored.read_text().replace("amount - (fee ?? 0)", "amount"), encoding="utf-8")
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"items": []}\n', encoding="utf-8")
    result = invoke("eval", str(stored), "--input", str(lines), "--out", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 3
    assert "content hash" in said(result)


def test_bad_lines_are_reported_in_place(tmp_path: Path) -> None:
    source = tmp_path / "loops.json"
    source.write_text(json.dumps(LOOPS), encoding="utf-8")
    assert invoke("import-jdm", str(source), "--out", str(tmp_path)).exit_code == 0
    lines = tmp_path / "in.jsonl"
    lines.write_text('{"items": []}\nnot json\n[1]\n{"items": 5}\n', encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = invoke("eval", str(tmp_path / "loops.yaml"), "--input", str(lines), "--out", str(out))
    assert result.exit_code == 1
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert records[0]["total"] == 0
    assert [r.get("line") for r in records[1:]] == [2, 3, 4]
    assert "loop mode needs a list" in records[3]["error"]


def test_an_exported_policy_opens_as_a_jdm_graph_zen_evaluates(tmp_path: Path) -> None:
    policy = tmp_path / "cn.yaml"
    policy.write_text(read_text("policies/cn-default.yaml"), encoding="utf-8")
    target = tmp_path / "cn.json"
    result = invoke("export-jdm", str(policy), "--out", str(target))
    assert result.exit_code == 0, result.output
    graph = json.loads(target.read_text(encoding="utf-8"))
    assert graph["contentType"] == "application/vnd.gorules.decision"
    assert [n["type"] for n in graph["nodes"]] == ["inputNode", "decisionTableNode", "outputNode"]
    decided = (
        zen.ZenEngine()
        .create_decision(json.dumps(graph))
        .evaluate({"tier": "T5", "dpd_now": 45, "failed_debits_30d": 0})["result"]
    )
    assert decided["rule_id"] == "severe-delinquency"
    again = invoke("import-jdm", str(target), "--out", str(tmp_path / "back"))
    assert again.exit_code == 0, again.output
