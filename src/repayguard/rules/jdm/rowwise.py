"""Evaluate an imported graph on one request, exactly as zen-engine does.

The walk (order, switch pruning, end) is :mod:`repayguard.rules.jdm.walker`; this module runs
the nodes. Per node kind:

* **decision table** -- rules are tried in order; a non-empty cell of a column with a field
  is a unary test on the field's value (``$``), one without a field a whole expression that
  must be ``true``. A cell that raises fails its rule, and so does an output expression that
  raises. A matching rule writes each non-empty output at its dotted path. ``first`` gives the
  first matching rule's object (null when none matches), ``collect`` the list of all.
* **expression** -- assignments run in order; each result is written at its key in the node's
  output and under ``$`` for the later ones. An expression that raises fails the evaluation.
* **transforms** (both) -- ``inputField`` selects the node's input, ``loop`` runs the node per
  element of it (a list), ``outputPath`` nests the output, ``passThrough`` merges it over the
  node's incoming data.
* **switch** -- passes its input on; the branches it takes are decided by the walk.
* **input/output** -- validate against their JSON Schema if they have one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from repayguard.rules.jdm.errors import GraphEvaluationError
from repayguard.rules.jdm.importer import (
    ExpressionIR,
    ImportedGraph,
    NodeIR,
    SwitchIR,
    TableIR,
)
from repayguard.rules.jdm.model import InputNode, OutputNode, Transform
from repayguard.rules.jdm.schema import violations
from repayguard.rules.jdm.values import (
    NODES_KEY,
    copy_value,
    dot_insert,
    merge,
    merge_incoming,
    to_json,
)
from repayguard.rules.jdm.walker import Walk
from repayguard.rules.zen import ZenEvaluationError, ZenUnsupported, to_value


def _truthy(value: Any) -> bool:
    return value is True


class _ScalarEnv(dict[str, Any]):
    """The context of a node whose input is not an object (a string, a number, a list):
    zen-engine fails on any name read from it except ``$nodes``."""

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        raise ZenEvaluationError(f"cannot read {key!r} from a non-object input")


def _env(value: Any, nodes: Any) -> dict[str, Any]:
    """The evaluation context of a node's input (null reads as an empty object), with
    ``$nodes`` (every node's output so far, by node name) when given."""
    env: dict[str, Any] = _ScalarEnv()
    if isinstance(value, Mapping):
        env = dict(value)
    elif value is None:
        env = {}
    if nodes is not None:
        env[NODES_KEY] = nodes
    return env


def switch_branches(
    ir: SwitchIR, data: Any, now: datetime | None = None, nodes: Any = None
) -> frozenset[str]:
    """The statement ids a switch takes on its input (an erroring condition does not hold)."""
    holding: list[str] = []
    env = _env(data, nodes)
    for sid, cond in ir.statements:
        if cond is None:
            ok = True
        else:
            try:
                ok = _truthy(cond.run.evaluate_value(env, now=now))
            except ZenEvaluationError:
                ok = False
            except ZenUnsupported as exc:
                raise _inexact(ir.node.id, ir.node.name, exc) from exc
        if ok:
            holding.append(sid)
            if ir.node.hit_policy == "first":
                break
    return frozenset(holding)


def _table_once(ir: TableIR, data: Any, nodes: Any, now: datetime | None) -> Any:
    env = _env(data, nodes)
    results: list[dict[str, Any]] = []
    for rule in ir.rules:
        matched = True
        for cell in rule.cells:
            try:
                if cell.unary:
                    field = ir.fields[cell.column]
                    assert field is not None
                    value = field.run.evaluate_value(env, now=now)
                    env["$"] = value
                    ok = cell.test.run.test(value, env, now=now)
                else:
                    ok = _truthy(cell.test.run.evaluate_value(env, now=now))
            except ZenEvaluationError:
                ok = False
            if not ok:
                matched = False
                break
        if not matched:
            continue
        out: dict[str, Any] = {}
        try:
            for path, expr in rule.outputs:
                dot_insert(out, path, expr.run.evaluate_value(env, now=now))
        except ZenEvaluationError:
            continue
        if ir.node.hit_policy == "first":
            return out
        results.append(out)
    return None if ir.node.hit_policy == "first" else results


def _expressions_once(ir: ExpressionIR, data: Any, nodes: Any, now: datetime | None) -> Any:
    env = _env(data, nodes)
    out: dict[str, Any] = {}
    for key, expr in ir.assignments:
        try:
            value = expr.run.evaluate_value(env, now=now)
        except ZenEvaluationError as exc:
            raise GraphEvaluationError(
                ir.node.id, ir.node.name, f"expression {key!r} (`{expr.source}`) failed: {exc}"
            ) from exc
        # ``$`` appears with the first result (before it, ``$`` is null, as in zen-engine)
        dot_insert(env, f"$.{key}", copy_value(value))
        dot_insert(out, key, value)
    return out


def run_transform(
    transform: Transform,
    input_field: Any,
    where: tuple[str, str],
    incoming: Any,
    nodes: Any,
    once: Callable[[Any], Any],
    now: datetime | None,
) -> Any:
    """Apply a node's transform around ``once`` (the node's evaluation on one input)."""
    data = incoming
    if input_field is not None:
        try:
            data = input_field.run.evaluate_value(_env(incoming, nodes), now=now)
        except ZenEvaluationError as exc:
            raise GraphEvaluationError(
                *where, f"its input field `{input_field.source}` failed: {exc}"
            ) from exc
    if transform.execution_mode == "single":
        output = once(data)
    else:
        if not isinstance(data, list):
            raise GraphEvaluationError(*where, "loop mode needs a list as the node's input")
        output = []
        for item in data:
            result = once(item)
            output.append(merge(item, result) if transform.pass_through else result)
    if transform.output_path is not None:
        wrapped: dict[str, Any] = {}
        dot_insert(wrapped, transform.output_path, output)
        output = wrapped
    if transform.pass_through:
        output = merge(incoming, output)
    return output


def _inexact(node_id: str, node_name: str, exc: ZenUnsupported) -> GraphEvaluationError:
    return GraphEvaluationError(
        node_id,
        node_name,
        f"{exc}; repayguard cannot evaluate this request exactly, so it gives no result",
    )


def run_node(
    ir: NodeIR,
    incoming: Any,
    *,
    request: Any = None,
    nodes: Any = None,
    now: datetime | None = None,
) -> Any:
    """One node's output (engine values) on its incoming data. ``request`` is the request
    (for the input node), ``nodes`` the ``$nodes`` object its expressions may read. A value
    the ZEN implementation refuses (a year beyond 9999, ...) fails the request rather than
    give a result that could differ from zen-engine's."""
    try:
        return _run_node(ir, incoming, request, nodes, now)
    except ZenUnsupported as exc:
        node = ir if isinstance(ir, InputNode | OutputNode) else ir.node
        raise _inexact(node.id, node.name, exc) from exc


def _run_node(ir: NodeIR, incoming: Any, request: Any, nodes: Any, now: datetime | None) -> Any:
    if isinstance(ir, InputNode):
        _validate(ir, request)
        return request
    if isinstance(ir, OutputNode):
        _validate(ir, incoming)
        return incoming
    if isinstance(ir, SwitchIR):
        return incoming
    if isinstance(ir, TableIR):
        return run_transform(
            ir.node.transform,
            ir.input_field,
            (ir.node.id, ir.node.name),
            incoming,
            nodes,
            lambda data: _table_once(ir, data, nodes, now),
            now,
        )
    return run_transform(
        ir.node.transform,
        ir.input_field,
        (ir.node.id, ir.node.name),
        incoming,
        nodes,
        lambda data: _expressions_once(ir, data, nodes, now),
        now,
    )


def _validate(node: InputNode | OutputNode, value: Any) -> None:
    if node.schema is None:
        return
    found = violations(node.schema, to_json(value))
    if found:
        raise GraphEvaluationError(
            node.id, node.name, "the data does not fit the node's JSON Schema: " + found[0]
        )


def request_value(graph: ImportedGraph, context: Mapping[str, Any]) -> Any:
    """The request as the engine reads it (numbers as its decimals); a value it cannot hold
    (an integer beyond 64 bits, a float out of range, a non-JSON type) fails the input node."""
    try:
        return to_value(context)
    except ZenEvaluationError as exc:
        node = next(n for n in graph.graph.nodes if isinstance(n, InputNode))
        raise GraphEvaluationError(node.id, node.name, f"the request is not valid: {exc}") from exc


def evaluate(
    graph: ImportedGraph, context: Mapping[str, Any], *, now: datetime | None = None
) -> Any:
    """The graph's result for one request, as zen-engine returns it (an object, or a list
    when a collect table's output is the result). ``now`` is the clock reading for
    ``date("now")`` (the system clock when omitted, as in zen-engine). Raises
    GraphEvaluationError where zen-engine fails."""
    walk = Walk(graph.topology)
    data: dict[int, Any] = {}
    names: dict[int, str] = {}
    nodes = graph.graph.nodes
    request = request_value(graph, context)

    def incoming(n: int) -> Any:
        return merge_incoming([data[p] for p in walk.predecessors(n) if p in data])

    def nodes_so_far() -> dict[str, Any]:
        return {names[k]: data[k] for k in data}

    while (step := walk.next()) is not None:
        kind, n = step
        if kind == "switch":
            ir = graph.nodes[n]
            assert isinstance(ir, SwitchIR)
            taken = switch_branches(ir, incoming(n), now, nodes_so_far())
            if walk.resolve_switch(n, taken):
                continue
        if n in data:
            continue
        node = nodes[n]
        data[n] = run_node(
            graph.nodes[n], incoming(n), request=request, nodes=nodes_so_far(), now=now
        )
        names[n] = node.name
        if isinstance(node, OutputNode):
            break
    result: Any = {}
    for n in walk.ending_nodes():
        if n in data:
            result = merge(result, data[n])
    return to_json(result)
