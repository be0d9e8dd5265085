"""Importing JDM graphs: all or nothing, every refusal naming the node, the cell or expression
and the construct; the stored YAML form round-trips and guards its content hash."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import yaml

from repayguard.rules.jdm import (
    GraphRefused,
    dump_document,
    evaluate,
    graph_to_jdm,
    import_graph,
    is_graph_document,
    load_graph_document,
)


def _node(
    node_id: str, kind: str, content: dict[str, Any] | None = None, name: str = ""
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": node_id,
        "type": kind,
        "name": name or node_id,
        "position": {"x": 1, "y": 2},
    }
    return {**node, "content": content} if content is not None else node


def _table(cell: str, output: str = '"ok"', field: str | None = "age") -> dict[str, Any]:
    column: dict[str, Any] = {"id": "c1", "name": "Age"}
    if field is not None:
        column["field"] = field
    return _node(
        "t",
        "decisionTableNode",
        {
            "hitPolicy": "first",
            "inputs": [column],
            "outputs": [{"id": "o1", "name": "Result", "field": "result"}],
            "rules": [
                {"_id": "r1", "c1": "", "o1": '"none"'},
                {"_id": "r2", "c1": cell, "o1": output},
            ],
        },
        name="Eligibility",
    )


def _graph(*middle: dict[str, Any]) -> dict[str, Any]:
    nodes = [_node("in", "inputNode", name="Request"), *middle, _node("out", "outputNode")]
    edges = []
    for k, n in enumerate(middle):
        edges += [
            {"id": f"a{k}", "sourceId": "in", "targetId": n["id"]},
            {"id": f"b{k}", "sourceId": n["id"], "targetId": "out"},
        ]
    return {"nodes": nodes, "edges": edges}


def _refusal(document: dict[str, Any]) -> str:
    with pytest.raises(GraphRefused) as refused:
        import_graph(document)
    return str(refused.value)


def test_a_function_node_is_refused_with_its_name_and_what_to_do() -> None:
    text = _refusal(_graph(_node("fn1", "functionNode", {"source": "..."}, name="Score it")))
    assert "node 'Score it' (id fn1)" in text
    assert "JavaScript function node" in text
    assert "expression or decision-table nodes" in text


@pytest.mark.parametrize(
    ("kind", "construct"),
    [
        ("decisionNode", "call into another decision graph"),
        ("customNode", "custom node"),
        ("fancyNode", "unknown node type 'fancyNode'"),
    ],
)
def test_node_kinds_repayguard_cannot_evaluate_are_refused(kind: str, construct: str) -> None:
    assert construct in _refusal(_graph(_node("x", kind, {})))


def test_a_cell_that_does_not_parse_is_refused_naming_rule_column_and_text() -> None:
    text = _refusal(_graph(_table(">= 18 and")))
    assert "node 'Eligibility' (id t)" in text
    assert "rule 2, input column 'Age' (age)" in text
    assert "`>= 18 and`" in text
    assert "syntax error" in text


def test_an_unsupported_construct_is_refused_naming_it() -> None:
    text = _refusal(_graph(_table("> 1", output="rand(100)")))
    assert "rule 2, output column 'Result' (result)" in text
    assert "`rand(100)`" in text
    assert "rand" in text
    assert "not supported" in text


def test_every_problem_is_reported_at_once_and_nothing_is_imported() -> None:
    document = _graph(
        _table(">= 18 and"),
        _node("fn1", "functionNode", {}),
        _node(
            "e",
            "expressionNode",
            {"expressions": [{"id": "1", "key": "k", "value": "d('2024-01-01')"}]},
        ),
    )
    with pytest.raises(GraphRefused) as refused:
        import_graph(document)
    assert len(refused.value.refusals) == 3
    assert {r.node_id for r in refused.value.refusals} == {"t", "fn1", "e"}


def test_structural_problems_are_refused() -> None:
    cycle = _graph(_node("a", "expressionNode", {"expressions": []}))
    cycle["edges"].append({"id": "back", "sourceId": "out", "targetId": "a"})
    assert "cycle" in _refusal(cycle)
    two_inputs = _graph()
    two_inputs["nodes"].append(_node("in2", "inputNode"))
    assert "2 input nodes" in _refusal(two_inputs)
    dangling = _graph()
    dangling["edges"].append({"id": "x", "sourceId": "in", "targetId": "nowhere"})
    assert "missing node" in _refusal(dangling)
    assert "not a JDM graph" in _refusal({"nodes": {}})


def test_a_schema_keyword_that_is_not_applied_is_refused() -> None:
    document = _graph()
    document["nodes"][0]["content"] = {
        "schema": json.dumps({"type": "object", "patternProperties": {}})
    }
    text = _refusal(document)
    assert "/patternProperties" in text
    assert "JSON Schema" in text


def test_an_empty_field_makes_each_cell_a_whole_expression() -> None:
    graph = import_graph(_graph(_table("age >= 18", field="")))
    assert evaluate(graph, {"age": 20}) == {"result": "none"}
    graph = import_graph(_graph(_table("age >= 18", field=None)))
    assert evaluate(graph, {"age": 20}) == {"result": "none"}


def test_the_stored_document_round_trips_and_guards_its_hash() -> None:
    document = _graph(
        _table(">= 18"),
        _node(
            "e",
            "expressionNode",
            {"expressions": [{"id": "1", "key": "k.v", "value": "age * 2"}], "passThrough": True},
        ),
        _node(
            "s",
            "switchNode",
            {"hitPolicy": "collect", "statements": [{"id": "h", "condition": "age > 1"}]},
        ),
    )
    imported = import_graph(document)
    text = dump_document(
        imported.graph, name="eligibility", source_file="e.json", source_sha256="0" * 64
    )
    data = yaml.safe_load(text)
    assert is_graph_document(data)
    assert data["graph"]["nodes"][1]["rules"][1] == {
        "id": "r2",
        "when": [">= 18"],
        "then": ['"ok"'],
    }
    loaded, meta = load_graph_document(data)
    assert meta.name == "eligibility"
    assert meta.source_file == "e.json"
    assert loaded.graph == imported.graph
    assert import_graph(graph_to_jdm(loaded.graph)).graph == imported.graph
    for age in (5, 18, 30):
        assert evaluate(loaded, {"age": age}) == evaluate(imported, {"age": age})
    tampered = copy.deepcopy(data)
    tampered["graph"]["nodes"][1]["rules"][1]["when"] = [">= 21"]
    with pytest.raises(GraphRefused, match="content hash"):
        load_graph_document(tampered)
