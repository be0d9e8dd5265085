"""Read a GoRules JDM document into the typed model, naming every problem found.

``parse_graph`` reads the JSON document as the GoRules editor writes it (unknown keys such as
``description`` are ignored; positions are kept for export) and checks its shape: node kinds,
column and rule layout, edges naming existing nodes, exactly one input node, no cycles.
Expressions are compiled later, by the importer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from repayguard.rules.jdm.errors import GraphRefused, Refusal
from repayguard.rules.jdm.model import (
    AnyNode,
    Assignment,
    Column,
    Edge,
    ExecutionMode,
    ExpressionNode,
    InputNode,
    JdmGraph,
    OutputNode,
    Rule,
    Statement,
    SwitchNode,
    TableNode,
    Transform,
)

_REFUSED_KINDS = {
    "functionNode": (
        "a JavaScript function node",
        "rewrite the function as expression or decision-table nodes; repayguard evaluates "
        "only the ZEN expression language",
    ),
    "decisionNode": (
        "a decision node (a call into another decision graph)",
        "inline the called graph into this one before importing",
    ),
    "customNode": (
        "a custom node (its behaviour lives in the host application)",
        "replace it with expression or decision-table nodes",
    ),
}


class _Reader:
    """Collects every problem of a document before refusing it."""

    def __init__(self) -> None:
        self.refusals: list[Refusal] = []

    def refuse(
        self,
        construct: str,
        *,
        node: Mapping[str, Any] | None = None,
        where: str | None = None,
        source: str | None = None,
        hint: str = "",
    ) -> None:
        node_id = None if node is None else str(node.get("id"))
        name = None if node is None else str(node.get("name", ""))
        self.refusals.append(Refusal(node_id, name, where, source, construct, hint))

    def text(self, value: Any, what: str, node: Mapping[str, Any]) -> str | None:
        if isinstance(value, str):
            return value
        self.refuse(f"{what} must be text, found {json.dumps(value)[:60]}", node=node)
        return None


def _optional_path(value: Any) -> str | None:
    return value if isinstance(value, str) and value != "" else None


def _transform(content: Mapping[str, Any], node: Mapping[str, Any], r: _Reader) -> Transform:
    raw_mode = content.get("executionMode") or "single"
    mode: ExecutionMode = "loop" if raw_mode == "loop" else "single"
    if raw_mode not in ("single", "loop"):
        r.refuse(f"unknown executionMode {raw_mode!r} (expected single or loop)", node=node)
    pass_through = content.get("passThrough", False)
    if not isinstance(pass_through, bool):
        r.refuse("passThrough must be true or false", node=node)
        pass_through = False
    return Transform(
        _optional_path(content.get("inputField")),
        _optional_path(content.get("outputPath")),
        mode,
        pass_through,
    )


def _columns(raw: Any, what: str, node: Mapping[str, Any], r: _Reader) -> tuple[Column, ...]:
    if not isinstance(raw, list):
        r.refuse(f"the table's {what} must be a list", node=node)
        return ()
    out: list[Column] = []
    for k, col in enumerate(raw, start=1):
        if not isinstance(col, dict) or not isinstance(col.get("id"), str):
            r.refuse(f"{what} column {k} has no id", node=node)
            continue
        fld = col.get("field")
        if fld == "":
            fld = None  # an empty field is no field: each cell is a whole expression
        if fld is not None and not isinstance(fld, str):
            r.refuse(f"{what} column {k} has a field that is not text", node=node)
            fld = None
        if what == "outputs" and not fld:
            r.refuse(
                f"output column {col.get('name', k)!r} has no field to write",
                node=node,
                hint="give the column a field (an output path) in the editor",
            )
        out.append(Column(col["id"], str(col.get("name", "")), fld))
    return tuple(out)


def _table(node: Mapping[str, Any], content: Mapping[str, Any], r: _Reader) -> dict[str, Any]:
    hit = content.get("hitPolicy", "first")
    if hit not in ("first", "collect"):
        r.refuse(f"hit policy {hit!r}", node=node, hint="use the first or collect hit policy")
        hit = "first"
    inputs = _columns(content.get("inputs", []), "inputs", node, r)
    outputs = _columns(content.get("outputs", []), "outputs", node, r)
    rules: list[Rule] = []
    raw_rules = content.get("rules", [])
    if not isinstance(raw_rules, list):
        r.refuse("the table's rules must be a list", node=node)
        raw_rules = []
    for k, raw in enumerate(raw_rules, start=1):
        if not isinstance(raw, dict):
            r.refuse(f"rule {k} is not an object", node=node)
            continue
        cells: dict[str, str] = {}
        for key, value in raw.items():
            if key in ("_id", "_description"):
                continue
            if not isinstance(value, str):
                r.refuse(f"rule {k}: cell {key!r} must be text", node=node, source=str(value))
                continue
            cells[key] = value
        rules.append(Rule(str(raw.get("_id", k)), str(raw.get("_description", "")), cells))
    return {
        "hit_policy": hit,
        "inputs": inputs,
        "outputs": outputs,
        "rules": tuple(rules),
        "transform": _transform(content, node, r),
    }


def _expression(node: Mapping[str, Any], content: Mapping[str, Any], r: _Reader) -> dict[str, Any]:
    raw = content.get("expressions", [])
    if not isinstance(raw, list):
        r.refuse("the node's expressions must be a list", node=node)
        raw = []
    assignments = []
    for k, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            r.refuse(f"expression {k} is not an object", node=node)
            continue
        key = r.text(item.get("key", ""), f"expression {k}'s key", node)
        value = r.text(item.get("value", ""), f"expression {k}'s value", node)
        if key is not None and value is not None:
            assignments.append(Assignment(str(item.get("id", k)), key, value))
    return {"assignments": tuple(assignments), "transform": _transform(content, node, r)}


def _switch(node: Mapping[str, Any], content: Mapping[str, Any], r: _Reader) -> dict[str, Any]:
    hit = content.get("hitPolicy", "first")
    if hit not in ("first", "collect"):
        r.refuse(f"switch hit policy {hit!r}", node=node, hint="use first or collect")
        hit = "first"
    statements = []
    for k, item in enumerate(content.get("statements", []) or [], start=1):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            r.refuse(f"statement {k} has no id", node=node)
            continue
        condition = r.text(item.get("condition", ""), f"statement {k}'s condition", node)
        if condition is not None:
            statements.append(Statement(item["id"], condition))
    return {"hit_policy": hit, "statements": tuple(statements)}


def _schema(content: Mapping[str, Any], node: Mapping[str, Any], r: _Reader) -> Any:
    raw = content.get("schema")
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            r.refuse(f"its JSON Schema is not valid JSON ({exc.msg})", node=node)
            return None
    if not isinstance(raw, dict):
        r.refuse("its JSON Schema is not an object", node=node)
        return None
    return raw


def _position(node: Mapping[str, Any]) -> tuple[float, float]:
    pos = node.get("position")
    if isinstance(pos, dict):
        x, y = pos.get("x", 0), pos.get("y", 0)
        if isinstance(x, int | float) and isinstance(y, int | float):
            return (float(x), float(y))
    return (0.0, 0.0)


def _node(raw: Mapping[str, Any], r: _Reader) -> AnyNode | None:
    kind = raw.get("type")
    common: dict[str, Any] = {
        "id": str(raw["id"]),
        "name": str(raw.get("name", "")),
        "position": _position(raw),
    }
    content = raw.get("content") or {}
    if not isinstance(content, dict):
        r.refuse("its content is not an object", node=raw)
        return None
    if kind == "inputNode":
        return InputNode(**common, schema=_schema(content, raw, r))
    if kind == "outputNode":
        return OutputNode(**common, schema=_schema(content, raw, r))
    if kind == "decisionTableNode":
        return TableNode(**common, **_table(raw, content, r))
    if kind == "expressionNode":
        return ExpressionNode(**common, **_expression(raw, content, r))
    if kind == "switchNode":
        return SwitchNode(**common, **_switch(raw, content, r))
    if kind in _REFUSED_KINDS:
        construct, hint = _REFUSED_KINDS[kind]
        r.refuse(construct, node=raw, hint=hint)
    else:
        r.refuse(
            f"unknown node type {kind!r}",
            node=raw,
            hint="repayguard imports input, output, decision-table, expression and switch nodes",
        )
    return None


def _cycle(nodes: tuple[AnyNode, ...], edges: tuple[Edge, ...]) -> list[str] | None:
    """A cycle as a list of node ids, or None."""
    succ: dict[str, list[str]] = {n.id: [] for n in nodes}
    for e in edges:
        succ[e.source].append(e.target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        state[n] = 1
        stack.append(n)
        for m in succ[n]:
            if state.get(m) == 1:
                return [*stack[stack.index(m) :], m]
            if m not in state:
                found = visit(m)
                if found:
                    return found
        stack.pop()
        state[n] = 2
        return None

    for n in succ:
        if n not in state:
            found = visit(n)
            if found:
                return found
    return None


def parse_graph(document: Mapping[str, Any]) -> JdmGraph:
    """Read a JDM document (the editor's JSON, as a dict) into the typed model.

    Refuses, naming every problem at once: node kinds repayguard does not evaluate (JavaScript
    function nodes, calls into other graphs, custom nodes, unknown types), malformed columns,
    rules and statements, edges to missing nodes, not exactly one input node, and cycles.
    """
    graph, refusals = read_graph(document)
    if refusals:
        raise GraphRefused(refusals)
    return graph


def read_graph(document: Mapping[str, Any]) -> tuple[JdmGraph, list[Refusal]]:
    """The nodes and edges that could be read, and every problem found (see ``parse_graph``)."""
    r = _Reader()
    raw_nodes = document.get("nodes")
    raw_edges = document.get("edges", [])
    if not isinstance(raw_nodes, list) or not isinstance(raw_edges, list):
        raise GraphRefused(
            [Refusal(None, None, None, None, "not a JDM graph: `nodes` and `edges` lists expected")]
        )
    nodes: list[AnyNode] = []
    seen: set[str] = set()
    for raw in raw_nodes:
        if not isinstance(raw, dict) or "id" not in raw:
            r.refuse("a node without an id")
            continue
        if str(raw["id"]) in seen:
            r.refuse("two nodes share this id", node=raw)
            continue
        seen.add(str(raw["id"]))
        parsed = _node(raw, r)
        if parsed is not None:
            nodes.append(parsed)
    edges: list[Edge] = []
    for k, raw in enumerate(raw_edges, start=1):
        if not isinstance(raw, dict):
            r.refuse(f"edge {k} is not an object")
            continue
        source, target = str(raw.get("sourceId")), str(raw.get("targetId"))
        if source not in seen or target not in seen:
            r.refuse(f"edge {raw.get('id', k)!r} connects {source!r} to {target!r}, a missing node")
            continue
        handle = raw.get("sourceHandle")
        edges.append(
            Edge(str(raw.get("id", k)), source, target, handle if isinstance(handle, str) else None)
        )
    inputs = [n for n in nodes if isinstance(n, InputNode)]
    if len(inputs) != 1 and not r.refusals:
        r.refuse(
            f"the graph has {len(inputs)} input nodes; exactly one is needed",
            hint="connect every path to a single input node",
        )
    graph = JdmGraph(tuple(nodes), tuple(edges))
    if not r.refusals:
        cycle = _cycle(graph.nodes, graph.edges)
        if cycle:
            names = " -> ".join(repr(graph.node(i).name) for i in cycle)
            r.refuse(f"the graph has a cycle ({names})", hint="decision graphs must be acyclic")
    if not r.refusals:
        for node in _dead_ends(graph):
            r.refuse(
                "its result reaches no output node, yet it writes nested fields (zen-engine still "
                "runs such a node, and those writes can land in objects shared with the input)",
                node={"id": node.id, "name": node.name},
                hint="connect the node to an output node, or delete it",
            )
    return graph, r.refusals


def _dead_ends(graph: JdmGraph) -> list[AnyNode]:
    """Nodes whose result no output node receives and that write nested paths (none when the
    graph has no output node: then the last nodes' results are the graph's result). A dead
    end writing only top-level keys changes nothing anyone reads, and is accepted."""
    outputs = {n.id for n in graph.nodes if isinstance(n, OutputNode)}
    if not outputs:
        return []
    feeds: dict[str, list[str]] = {}
    for edge in graph.edges:
        feeds.setdefault(edge.target, []).append(edge.source)
    reaching, stack = set(outputs), list(outputs)
    while stack:
        for source in feeds.get(stack.pop(), ()):
            if source not in reaching:
                reaching.add(source)
                stack.append(source)
    return [
        n
        for n in graph.nodes
        if n.id not in reaching and not isinstance(n, InputNode) and _writes_nested(n)
    ]


def _writes_nested(node: AnyNode) -> bool:
    """Whether the node assigns below the top level (``a.b``): only such writes can reach
    objects the node's output shares with its input."""
    if isinstance(node, ExpressionNode):
        paths = [assignment.key for assignment in node.assignments]
    elif isinstance(node, TableNode):
        paths = [column.field or "" for column in node.outputs]
    else:
        return False
    return any("." in path for path in [*paths, node.transform.output_path or ""])
