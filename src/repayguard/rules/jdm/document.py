"""The stored form of an imported graph: a readable YAML document with a content hash.

``repayguard policy import-jdm`` writes it; ``repayguard policy eval`` reads it like a policy.
Decision-table rules are written as lists of cells in column order (``when`` for the input
columns, ``then`` for the output columns), so a table reads like the editor's grid. The
``content_hash`` is the sha256 of the canonical JSON of ``graph``; a document whose graph no
longer matches its hash is refused, so a decision can always be traced to the exact graph.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from repayguard.rules.jdm.errors import GraphRefused, Refusal
from repayguard.rules.jdm.model import (
    AnyNode,
    ExpressionNode,
    InputNode,
    JdmGraph,
    OutputNode,
    SwitchNode,
    TableNode,
    Transform,
)

KIND: Final = "decision-graph"
_HEADER: Final = (
    "# A decision graph imported from a GoRules JDM file by `repayguard policy import-jdm`.\n"
    "# Evaluate it with: repayguard policy eval THIS.yaml --input IN.jsonl --out OUT.jsonl\n"
    "# Edit the JDM file and import it again: the content hash below guards this graph.\n"
)
_KINDS: Final = {
    "inputNode": "input",
    "outputNode": "output",
    "decisionTableNode": "decision-table",
    "expressionNode": "expression",
    "switchNode": "switch",
}
_JDM_KINDS: Final = {v: k for k, v in _KINDS.items()}


@dataclass(frozen=True, slots=True)
class GraphDocument:
    """An imported graph with where it came from: the name repayguard knows it by, the source
    file's name and sha256, and the content hash of the graph itself."""

    name: str
    source_file: str
    source_sha256: str
    content_hash: str
    graph: JdmGraph


def canonical_hash(graph_part: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of a document's ``graph``."""
    text = json.dumps(graph_part, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _transform(t: Transform) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if t.input_field is not None:
        out["input_field"] = t.input_field
    if t.output_path is not None:
        out["output_path"] = t.output_path
    if t.execution_mode != "single":
        out["execution_mode"] = t.execution_mode
    if t.pass_through:
        out["pass_through"] = True
    return out


def _coordinate(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _node_doc(node: AnyNode) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": node.id,
        "name": node.name,
        "type": _KINDS[node.kind],
        "position": [_coordinate(node.position[0]), _coordinate(node.position[1])],
    }
    if isinstance(node, InputNode | OutputNode) and node.schema is not None:
        out["schema"] = dict(node.schema)
    elif isinstance(node, TableNode):
        out["hit_policy"] = node.hit_policy
        out.update(_transform(node.transform))
        out["inputs"] = [{"id": c.id, "name": c.name, "field": c.field} for c in node.inputs]
        out["outputs"] = [{"id": c.id, "name": c.name, "field": c.field} for c in node.outputs]
        rules = []
        for rule in node.rules:
            item: dict[str, Any] = {"id": rule.id}
            if rule.description:
                item["description"] = rule.description
            item["when"] = [rule.cell(c.id) for c in node.inputs]
            item["then"] = [rule.cell(c.id) for c in node.outputs]
            rules.append(item)
        out["rules"] = rules
    elif isinstance(node, ExpressionNode):
        out.update(_transform(node.transform))
        out["expressions"] = [
            {"id": a.id, "key": a.key, "value": a.value} for a in node.assignments
        ]
    elif isinstance(node, SwitchNode):
        out["hit_policy"] = node.hit_policy
        out["statements"] = [{"id": s.id, "condition": s.condition} for s in node.statements]
    return out


def graph_part(graph: JdmGraph) -> dict[str, Any]:
    """The ``graph`` mapping of the stored document."""
    edges = []
    for e in graph.edges:
        item = {"id": e.id, "from": e.source, "to": e.target}
        if e.source_handle is not None:
            item["handle"] = e.source_handle
        edges.append(item)
    return {"nodes": [_node_doc(n) for n in graph.nodes], "edges": edges}


def dump_document(graph: JdmGraph, *, name: str, source_file: str, source_sha256: str) -> str:
    """The YAML text of the stored document."""
    part = graph_part(graph)
    body = {
        "kind": KIND,
        "name": name,
        "source": {"format": "gorules-jdm", "file": source_file, "sha256": source_sha256},
        "content_hash": canonical_hash(part),
        "graph": part,
    }
    text = yaml.safe_dump(
        body, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    return _HEADER + text


def _jdm_transform(node: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "inputField": node.get("input_field"),
        "outputPath": node.get("output_path"),
        "executionMode": node.get("execution_mode", "single"),
        "passThrough": bool(node.get("pass_through", False)),
    }


def _jdm_node(node: Mapping[str, Any]) -> dict[str, Any]:
    kind = _JDM_KINDS.get(str(node.get("type")), str(node.get("type")))
    x, y = (node.get("position") or [0, 0])[:2]
    out: dict[str, Any] = {
        "id": node["id"],
        "type": kind,
        "name": node.get("name", ""),
        "position": {"x": x, "y": y},
    }
    if kind in ("inputNode", "outputNode"):
        if node.get("schema") is not None:
            out["content"] = {"schema": json.dumps(node["schema"])}
    elif kind == "decisionTableNode":
        inputs, outputs = node.get("inputs", []), node.get("outputs", [])
        rules = []
        for rule in node.get("rules", []):
            cells: dict[str, Any] = {"_id": rule["id"]}
            if rule.get("description"):
                cells["_description"] = rule["description"]
            for column, cell in zip(inputs, rule.get("when", []), strict=False):
                cells[column["id"]] = cell
            for column, cell in zip(outputs, rule.get("then", []), strict=False):
                cells[column["id"]] = cell
            rules.append(cells)
        out["content"] = {
            "hitPolicy": node.get("hit_policy", "first"),
            "inputs": [_column(c) for c in inputs],
            "outputs": [_column(c) for c in outputs],
            "rules": rules,
            **_jdm_transform(node),
        }
    elif kind == "expressionNode":
        out["content"] = {"expressions": node.get("expressions", []), **_jdm_transform(node)}
    elif kind == "switchNode":
        out["content"] = {
            "hitPolicy": node.get("hit_policy", "first"),
            "statements": node.get("statements", []),
        }
    return out


def _column(column: Mapping[str, Any]) -> dict[str, Any]:
    out = {"id": column["id"], "name": column.get("name", "")}
    if column.get("field") is not None:
        out["field"] = column["field"]
    return out


def to_jdm_json(part: Mapping[str, Any]) -> dict[str, Any]:
    """A stored ``graph`` mapping back as a JDM document (for zen-engine or the editor)."""
    edges = []
    for e in part.get("edges", []):
        item = {"id": e["id"], "sourceId": e["from"], "targetId": e["to"], "type": "edge"}
        if e.get("handle") is not None:
            item["sourceHandle"] = e["handle"]
        edges.append(item)
    return {
        "contentType": "application/vnd.gorules.decision",
        "nodes": [_jdm_node(n) for n in part.get("nodes", [])],
        "edges": edges,
    }


def is_graph_document(data: Any) -> bool:
    """True for a parsed YAML document that is a stored decision graph (not a policy)."""
    return isinstance(data, dict) and data.get("kind") == KIND


def read_document(data: Mapping[str, Any]) -> dict[str, Any]:
    """The JDM JSON of a stored document, after checking its kind and content hash (raises
    GraphRefused when it is not a decision-graph document or its graph was altered)."""
    if not is_graph_document(data):
        raise GraphRefused(
            [Refusal(None, None, None, None, f"not a decision-graph document (kind: {KIND})")]
        )
    part = data.get("graph")
    if not isinstance(part, dict):
        raise GraphRefused([Refusal(None, None, None, None, "the document has no `graph`")])
    stated = data.get("content_hash")
    actual = canonical_hash(part)
    if stated != actual:
        raise GraphRefused(
            [
                Refusal(
                    None,
                    None,
                    "content_hash",
                    None,
                    f"the graph does not match its content hash (stated {str(stated)[:16]}…, "
                    f"actual {actual[:16]}…): it was changed after import",
                    "edit the JDM file in the GoRules editor and run "
                    "`repayguard policy import-jdm` again",
                )
            ]
        )
    return to_jdm_json(part)


def document_meta(data: Mapping[str, Any], graph: JdmGraph) -> GraphDocument:
    """The metadata of a stored document whose graph has been imported."""
    source = data.get("source") or {}
    return GraphDocument(
        name=str(data.get("name", "")),
        source_file=str(source.get("file", "")),
        source_sha256=str(source.get("sha256", "")),
        content_hash=str(data.get("content_hash", "")),
        graph=graph,
    )


def graph_to_jdm(graph: JdmGraph) -> dict[str, Any]:
    """A graph as a JDM document (the editor's JSON) -- the inverse of ``parse_graph``."""
    return to_jdm_json(graph_part(graph))
