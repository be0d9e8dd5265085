"""How graphs run -- node order, switch pruning, merges of node outputs, nulls, output nodes,
``$nodes`` -- matches zen-engine, on random graphs and on the cases that decide results."""

from __future__ import annotations

import json
from typing import Any

import pytest
import zen
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.rules.jdm import GraphEvaluationError, GraphRefused, evaluate, import_graph
from repayguard.rules.jdm.values import merge, merge_incoming

ENGINE = zen.ZenEngine()


def _node(node_id: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": node_id,
        "type": kind,
        "name": node_id,
        "position": {"x": 0, "y": 0},
    }
    return {**node, "content": content} if content is not None else node


def _zen(graph: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", ENGINE.create_decision(json.dumps(graph)).evaluate(request)["result"]
    except RuntimeError:
        return "error", None


def _ours(graph: dict[str, Any], request: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "ok", evaluate(import_graph(graph), request)
    except GraphEvaluationError:
        return "error", None
    except GraphRefused as refused:
        return "refused", [r.construct for r in refused.refusals]


_VALUES = ["1", "'s'", "null", "{p: 1, q: null}", "[1, 2]", "v", "v + 1", "$nodes.in.v", "a"]
_KEYS = ["a", "b", "o.x", "o.y", "o"]


@st.composite
def _graphs(draw: st.DrawFn) -> dict[str, Any]:
    count = draw(st.integers(1, 6))
    middle: list[dict[str, Any]] = []
    for k in range(count):
        kind = draw(st.sampled_from(["expression", "table", "switch"]))
        name = f"n{k}"
        if kind == "expression":
            keys = draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=3))
            items = [
                {"id": f"{name}e{j}", "key": key, "value": draw(st.sampled_from(_VALUES))}
                for j, key in enumerate(keys)
            ]
            content = {"expressions": items, "passThrough": draw(st.booleans())}
            middle.append(_node(name, "expressionNode", content))
        elif kind == "table":
            rules = [
                {
                    "_id": f"{name}r{j}",
                    "c": draw(st.sampled_from(["> 1", "", "null", "< 5"])),
                    "o1": draw(st.sampled_from(["1", "null", "'t'", "v"])),
                    "o2": draw(st.sampled_from(["", "2", "{z: 1}"])),
                }
                for j in range(draw(st.integers(0, 3)))
            ]
            content = {
                "hitPolicy": draw(st.sampled_from(["first", "collect"])),
                "inputs": [{"id": "c", "name": "v", "field": "v"}],
                "outputs": [
                    {"id": "o1", "name": "a", "field": draw(st.sampled_from(["a", "o.x"]))},
                    {"id": "o2", "name": "b", "field": "b"},
                ],
                "rules": rules,
                "passThrough": draw(st.booleans()),
                "outputPath": draw(st.sampled_from([None, "r", "o"])),
            }
            middle.append(_node(name, "decisionTableNode", content))
        else:
            statements = [
                {"id": f"{name}s{j}", "condition": draw(st.sampled_from(["v > 1", "v > 5", ""]))}
                for j in range(draw(st.integers(1, 3)))
            ]
            content = {
                "hitPolicy": draw(st.sampled_from(["first", "collect"])),
                "statements": statements,
            }
            middle.append(_node(name, "switchNode", content))
    outputs = [_node(f"out{k}", "outputNode") for k in range(draw(st.integers(0, 2)))]
    order = [_node("in", "inputNode"), *middle, *outputs]
    edges = []
    for j, target in enumerate(order[1:], start=1):
        sources = draw(st.lists(st.integers(0, j - 1), min_size=0, max_size=2, unique=True))
        for s in sources:
            source = order[s]
            handle = None
            if source["type"] == "switchNode":
                ids = [st_["id"] for st_ in source["content"]["statements"]]
                handle = draw(st.sampled_from([*ids, None]))
            edge = {"id": f"e{s}-{j}", "sourceId": source["id"], "targetId": target["id"]}
            edges.append({**edge, "sourceHandle": handle} if handle else edge)
    return {
        "nodes": draw(st.permutations(order)),
        "edges": draw(st.permutations(edges)),
    }


_requests = st.fixed_dictionaries(
    {"v": st.sampled_from([None, 0, 2, 7])},
    optional={
        "a": st.sampled_from([None, 5, "x"]),
        "o": st.sampled_from([None, {"x": None, "z": 2}, {"x": 1}]),
    },
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=_graphs(), request=_requests)
def test_random_graphs_run_as_zen_runs_them(graph: dict[str, Any], request: dict[str, Any]) -> None:
    ours = _ours(graph, request)
    if ours[0] == "refused":  # only for a node whose result no output receives
        assert all("reaches no output node" in construct for construct in ours[1]), ours
        return
    assert ours == _zen(graph, request)


def test_a_node_whose_result_reaches_no_output_is_refused_by_name() -> None:
    """zen-engine runs such a node anyway, and its writes into an object shared with the input
    reach the output: importing it would mean copying that accident, so it is refused."""
    dangling = _node(
        "n3", "expressionNode", {"expressions": [{"id": "e", "key": "o.x", "value": "1"}]}
    )
    graph = {
        "nodes": [_node("in", "inputNode"), dangling, _node("out", "outputNode")],
        "edges": [
            {"id": "1", "sourceId": "in", "targetId": "n3"},
            {"id": "2", "sourceId": "in", "targetId": "out"},
        ],
    }
    with pytest.raises(GraphRefused, match="reaches no output node") as refused:
        import_graph(graph)
    (refusal,) = refused.value.refusals
    assert (refusal.node_id, refusal.node_name) == ("n3", "n3")
    assert "connect the node to an output node" in refusal.hint


def test_the_first_edge_into_a_node_wins_a_merge() -> None:
    a = _node("a", "expressionNode", {"expressions": [{"id": "1", "key": "s", "value": "'A'"}]})
    b = _node("b", "expressionNode", {"expressions": [{"id": "2", "key": "s", "value": "'B'"}]})
    graph = {
        "nodes": [_node("in", "inputNode"), a, b, _node("out", "outputNode")],
        "edges": [
            {"id": "1", "sourceId": "in", "targetId": "a"},
            {"id": "2", "sourceId": "in", "targetId": "b"},
            {"id": "3", "sourceId": "b", "targetId": "out"},
            {"id": "4", "sourceId": "a", "targetId": "out"},
        ],
    }
    assert _ours(graph, {}) == _zen(graph, {}) == ("ok", {"s": "B"})


def test_a_switch_without_a_holding_statement_prunes_its_branch() -> None:
    graph = {
        "nodes": [
            _node("in", "inputNode"),
            _node("sw", "switchNode", {"statements": [{"id": "big", "condition": "v > 1"}]}),
            _node("x", "expressionNode", {"expressions": [{"id": "1", "key": "x", "value": "1"}]}),
            _node("y", "expressionNode", {"expressions": [{"id": "2", "key": "y", "value": "2"}]}),
            _node("out", "outputNode"),
        ],
        "edges": [
            {"id": "1", "sourceId": "in", "targetId": "sw"},
            {"id": "2", "sourceId": "sw", "targetId": "x", "sourceHandle": "big"},
            {"id": "3", "sourceId": "in", "targetId": "y"},
            {"id": "4", "sourceId": "x", "targetId": "out"},
            {"id": "5", "sourceId": "y", "targetId": "out"},
        ],
    }
    assert _ours(graph, {"v": 0}) == _zen(graph, {"v": 0}) == ("ok", {"y": 2})
    assert _ours(graph, {"v": 5}) == _zen(graph, {"v": 5}) == ("ok", {"x": 1, "y": 2})


def test_a_null_removes_a_key_in_a_merge_and_an_unchanged_object_keeps_its_nulls() -> None:
    shared = {"z": None, "w": 1}
    assert merge({"a": 1, "o": shared}, {"a": None, "o": shared}) == {"o": {"z": None, "w": 1}}
    assert merge({"a": 1, "o": shared}, {"o": {"z": None}}) == {"a": 1, "o": {"w": 1}}
    assert merge({"a": 1}, [1]) == [1]
    assert merge({"a": 1}, None) == {"a": 1}
    assert merge_incoming([{"x": None}]) == {"x": None}
    assert merge_incoming([None, {"x": None, "y": 1}]) == {"y": 1}


@pytest.mark.parametrize(
    ("schema", "request_", "fits"),
    [
        ({"type": "object", "properties": {"x": {"type": "number"}}}, {"x": None}, True),
        (
            {"type": "object", "properties": {"x": {"type": "number"}}, "required": ["x"]},
            {"x": None},
            False,
        ),
        ({"type": "object", "properties": {"x": {"type": "integer"}}}, {"x": 2.5}, False),
        ({"type": "object", "properties": {"x": {"enum": ["a"]}}}, {"x": "b"}, False),
    ],
)
def test_input_schemas_are_applied_as_zen_applies_them(
    schema: dict[str, Any], request_: dict[str, Any], fits: bool
) -> None:
    graph = {
        "nodes": [
            _node("in", "inputNode", {"schema": json.dumps(schema)}),
            _node("out", "outputNode"),
        ],
        "edges": [{"id": "1", "sourceId": "in", "targetId": "out"}],
    }
    ours, theirs = _ours(graph, request_), _zen(graph, request_)
    assert ours == theirs
    assert (ours[0] == "ok") is fits
