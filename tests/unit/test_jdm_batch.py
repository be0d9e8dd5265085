"""Batch evaluation of imported graphs gives, row for row, what row-wise evaluation gives.

Property-tested over frames of typed columns (integers, floats at cell boundaries, text,
booleans, nested structs, nulls) on graphs that mix vectorized nodes (decision tables,
integer and comparison expressions, switch conditions) with nodes that run per row (loops,
``$nodes``, float arithmetic, collect tables without an output path).
"""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repayguard.rules.jdm import GraphEvaluationError, evaluate, evaluate_frame, import_graph


def _node(node_id: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {
        "id": node_id,
        "type": kind,
        "name": node_id,
        "position": {"x": 0, "y": 0},
    }
    if content is not None:
        node["content"] = content
    return node


def _edge(source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    edge = {"id": f"{source}-{target}-{handle}", "sourceId": source, "targetId": target}
    return {**edge, "sourceHandle": handle} if handle else edge


def _table(
    node_id: str,
    fields: list[str | None],
    outputs: list[str],
    rules: list[list[str]],
    **transform: Any,
) -> dict[str, Any]:
    inputs = [{"id": f"i{k}", "name": f"in {k}", "field": f} for k, f in enumerate(fields)]
    outs = [{"id": f"o{k}", "name": f"out {k}", "field": f} for k, f in enumerate(outputs)]
    ids = [c["id"] for c in inputs + outs]
    return _node(
        node_id,
        "decisionTableNode",
        {
            "hitPolicy": transform.pop("hit", "first"),
            "inputs": inputs,
            "outputs": outs,
            "rules": [
                {"_id": f"r{j}", **dict(zip(ids, cells, strict=True))}
                for j, cells in enumerate(rules)
            ],
            **transform,
        },
    )


def _expressions(node_id: str, pairs: list[tuple[str, str]], **transform: Any) -> dict[str, Any]:
    items = [{"id": f"e{k}", "key": a, "value": b} for k, (a, b) in enumerate(pairs)]
    return _node(node_id, "expressionNode", {"expressions": items, **transform})


def _switch(node_id: str, statements: list[tuple[str, str]], hit: str) -> dict[str, Any]:
    items = [{"id": s, "condition": c} for s, c in statements]
    return _node(node_id, "switchNode", {"hitPolicy": hit, "statements": items})


ROUTED = {
    "nodes": [
        _node("in", "inputNode"),
        _table(
            "grade",
            ["x", "y", "s", "o.p"],
            ["grade", "flags.big", "flags.text"],
            [
                ["> 10", "", '"a", "b"', "", '"high"', "true", '"ab"'],
                ["[0..10]", "<= 0.25", "", "!= null", '"mid"', "false", "s"],
                ["", "> 0.5", "", "", '"float"', "y > 0.75", '"y"'],
                ["", "", "", "", '"low"', "null", ""],
            ],
            passThrough=True,
        ),
        _expressions(
            "score",
            [
                ("score", "(x ?? 0) * 3 - 2"),
                ("ok", "$.score > 10 and b == true"),
                ("label", "(s ?? '') + '!'"),
            ],
            passThrough=True,
        ),
        _switch("route", [("hi", "score > 20"), ("mid", "x > 3"), ("any", "")], "collect"),
        _table("high", ["grade"], ["tier"], [['"high"', '"gold"'], ["", '"silver"']]),
        _table(
            "mid",
            ["x"],
            ["bucket", "tag"],
            [["< 5", "1", '"small"'], ["< 8", "2", '"medium"'], ["", "3", '"large"']],
            hit="collect",
            outputPath="buckets",
        ),
        _expressions("other", [("other", "(y ?? 1) * 2"), ("seen", "$nodes.grade.grade")]),
        _node("out", "outputNode"),
    ],
    "edges": [
        _edge("in", "grade"),
        _edge("grade", "score"),
        _edge("score", "route"),
        _edge("route", "high", "hi"),
        _edge("route", "mid", "mid"),
        _edge("route", "other", "any"),
        _edge("high", "out"),
        _edge("mid", "out"),
        _edge("other", "out"),
    ],
}

LOOPED = {
    "nodes": [
        _node("in", "inputNode"),
        _table(
            "per-item",
            ["price"],
            ["discount"],
            [["> 10", "price * 0.1"], ["", "0"]],
            inputField="items",
            outputPath="discounts",
            executionMode="loop",
        ),
        _table("first", ["x"], ["a"], [["> 2", "x + 1"]], hit="collect"),
        _expressions("sum", [("total", "sum(map(items, #.price))"), ("n", "len(items)")]),
        _node("out", "outputNode"),
    ],
    "edges": [
        _edge("in", "per-item"),
        _edge("in", "sum"),
        _edge("in", "first"),
        _edge("per-item", "out"),
        _edge("sum", "out"),
    ],
}

_ints = st.one_of(st.none(), st.integers(-3, 25))
_floats = st.one_of(st.none(), st.sampled_from([0.0, 0.25, 0.2500001, 0.5, 0.75, 0.8, 1.5, -0.1]))
_texts = st.one_of(st.none(), st.sampled_from(["a", "b", "A", ""]))
_bools = st.one_of(st.none(), st.booleans())
_structs = st.one_of(st.none(), st.fixed_dictionaries({"p": _ints}))


@st.composite
def _frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 30))
    return pl.DataFrame(
        {
            "x": pl.Series(draw(st.lists(_ints, min_size=n, max_size=n)), dtype=pl.Int64),
            "y": pl.Series(draw(st.lists(_floats, min_size=n, max_size=n)), dtype=pl.Float64),
            "s": pl.Series(draw(st.lists(_texts, min_size=n, max_size=n)), dtype=pl.String),
            "b": pl.Series(draw(st.lists(_bools, min_size=n, max_size=n)), dtype=pl.Boolean),
            "o": pl.Series(
                draw(st.lists(_structs, min_size=n, max_size=n)),
                dtype=pl.Struct({"p": pl.Int64}),
            ),
        }
    )


@st.composite
def _item_frames(draw: st.DrawFn) -> pl.DataFrame:
    n = draw(st.integers(1, 20))
    price = st.fixed_dictionaries({"price": st.integers(0, 30)})
    items = draw(st.lists(st.lists(price, max_size=4), min_size=n, max_size=n))
    xs = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    return pl.DataFrame(
        {"items": pl.Series(items, dtype=pl.List(pl.Struct({"price": pl.Int64}))), "x": xs}
    )


def _clean(value: Any) -> Any:
    """A result as a frame holds it: a key whose value is null is the same as no key."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _assert_same(graph_doc: dict[str, Any], frame: pl.DataFrame) -> None:
    graph = import_graph(graph_doc)
    expected: list[Any] = []
    for row in frame.to_dicts():
        try:
            expected.append(evaluate(graph, row))
        except GraphEvaluationError:
            with pytest.raises(GraphEvaluationError):
                evaluate_frame(graph, frame)
            return
    out = evaluate_frame(graph, frame)
    assert out.height == frame.height
    for k, (want, got) in enumerate(zip(expected, out.to_dicts(), strict=True)):
        assert _clean(got) == _clean(want), f"row {k}: {frame.row(k, named=True)}"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=_frames())
def test_switch_routed_graph_gives_the_row_wise_results_in_batch(frame: pl.DataFrame) -> None:
    _assert_same(ROUTED, frame)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=_item_frames())
def test_loops_and_closures_give_the_row_wise_results_in_batch(frame: pl.DataFrame) -> None:
    _assert_same(LOOPED, frame)


def test_batch_names_the_row_an_expression_fails_on() -> None:
    graph = import_graph(
        {
            "nodes": [_node("in", "inputNode"), _expressions("calc", [("v", "x + 'a'")])],
            "edges": [_edge("in", "calc")],
        }
    )
    frame = pl.DataFrame({"x": [1, 2]})
    with pytest.raises(GraphEvaluationError, match="row 0"):
        evaluate_frame(graph, frame)


def test_batch_refuses_a_column_no_request_can_hold() -> None:
    graph = import_graph(ROUTED)
    frame = pl.DataFrame({"x": [1]}).with_columns(d=pl.date(2025, 1, 1))
    with pytest.raises(ValueError, match="ISO text or Unix seconds"):
        evaluate_frame(graph, frame)
