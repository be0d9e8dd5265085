"""Evaluate an imported graph over a frame of requests: vectorized where the nodes allow it.

The walk is the row-wise one (:mod:`.walker`), run once for a group of rows; when a switch
sends the rows of a group different ways, the group splits and each part walks on. Node data
is held as columns (:mod:`.columns`). Decision tables, expression nodes and switch conditions
whose expressions compile to Polars run vectorized (:mod:`.vectorize`); any other node -- a
loop, an ``inputField``, ``$nodes``, an expression ``to_polars`` declines, outputs of mixed
kinds -- runs row by row through :mod:`.rowwise`, for that node only. Either way the results
are the row-wise ones.

The frame holds one request per row (struct columns are nested objects, list columns lists).
The result frame holds one result per row: a column per top-level key (objects as structs,
lists as lists), null where a row's result lacks the key; a graph whose result is not an
object (a collect table's list) gives one column, ``result``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from repayguard.rules.jdm import columns as jc
from repayguard.rules.jdm.columns import Cols
from repayguard.rules.jdm.errors import GraphEvaluationError
from repayguard.rules.jdm.importer import ExpressionIR, ImportedGraph, SwitchIR, TableIR
from repayguard.rules.jdm.model import InputNode, OutputNode
from repayguard.rules.jdm.rowwise import request_value, run_node, switch_branches
from repayguard.rules.jdm.tables import table_cols
from repayguard.rules.jdm.values import NODES_KEY, merge, merge_incoming, to_json
from repayguard.rules.jdm.vectorize import Workspace, expression_cols, reads_whole_input
from repayguard.rules.jdm.walker import Walk
from repayguard.rules.zen import to_value

Rows = list[Any]
Data = Cols | Rows
_SUPPORTED = (pl.Boolean, pl.String, pl.Null, pl.List, pl.Struct)


@dataclass(slots=True)
class _Group:
    """Rows (indices into the request frame) that walked the same way so far."""

    rows: pl.Series
    walk: Walk
    data: dict[int, Data] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    ready: int | None = None  # a switch that kept all its edges runs next, as a node

    def fork(self, keep: pl.Series) -> _Group:
        idx = keep.arg_true()
        return _Group(
            self.rows.gather(idx),
            self.walk.copy(),
            {n: _take(d, idx) for n, d in self.data.items()},
            dict(self.names),
        )


def _take(data: Data, idx: pl.Series) -> Data:
    if isinstance(data, Cols):
        return data.take(idx)
    return [data[i] for i in idx.to_list()]


def _rows(data: Data) -> Rows:
    """Node data as engine values, one per row."""
    if isinstance(data, Cols):
        return [to_value(r) for r in jc.to_rows(data)]
    return data


def _merge_incoming(parts: list[Data], height: int) -> Data:
    """``values.merge_incoming`` in columns while every part is columnar."""
    if all(isinstance(p, Cols) for p in parts):
        if not parts:
            return jc.empty_object(height)
        head = parts[0]
        assert isinstance(head, Cols)
        # a row whose first output is not an object (a table that matched nothing) starts
        # from {}; such a row has no leaves, so marking it an object is enough
        acc: Cols | None = Cols(height, head.leaves, {**head.objects, jc.ROOT: jc.all_true(height)})
        for part in parts[1:]:
            assert isinstance(part, Cols)
            assert acc is not None
            acc = jc.merge(acc, part)
            if acc is None:
                break
        if acc is not None:
            return acc
    rows = [_rows(p) for p in parts]
    return [merge_incoming([r[i] for r in rows]) for i in range(height)]


def _merge_ending(parts: list[Data], height: int) -> Data:
    """The result: the ending nodes' outputs merged over ``{}``."""
    acc: Data = jc.empty_object(height)
    for part in parts:
        if isinstance(acc, Cols) and isinstance(part, Cols):
            merged = jc.merge(acc, part)
            if merged is not None:
                acc = merged
                continue
        acc = [merge(a, b) for a, b in zip(_rows(acc), _rows(part), strict=True)]
    return acc


class _Run:
    """One batch evaluation: the graph, the request as columns, the clock reading."""

    def __init__(self, graph: ImportedGraph, frame: pl.DataFrame, now: datetime | None) -> None:
        self.graph = graph
        self.request = jc.from_frame(frame)
        self.frame = frame
        self.now = now

    def node_failed(self, g: _Group, n: int, failed: pl.Series) -> None:
        """Raise for the first row where node ``n`` fails, with the row-wise message."""
        row = int(g.rows[int(failed.arg_true()[0])])
        incoming = _rows(self.incoming(g, n))[int(failed.arg_true()[0])]
        node = self.graph.graph.nodes[n]
        try:
            run_node(self.graph.nodes[n], incoming, now=self.now)
        except GraphEvaluationError as exc:
            raise GraphEvaluationError(node.id, node.name, f"row {row}: {exc.reason}") from exc
        raise GraphEvaluationError(node.id, node.name, f"row {row}: an expression failed")

    def incoming(self, g: _Group, n: int) -> Data:
        parts = [g.data[p] for p in g.walk.predecessors(n) if p in g.data]
        return _merge_incoming(parts, len(g.rows))

    def nodes(self, g: _Group, ir: Any) -> list[Any]:
        """Per row, the ``$nodes`` object (built only for nodes that can read it)."""
        if not reads_whole_input(ir):
            return [None] * len(g.rows)
        nodes: list[dict[str, Any]] = [{} for _ in range(len(g.rows))]
        for k, data in g.data.items():
            for i, value in enumerate(_rows(data)):
                nodes[i][g.names[k]] = value
        return nodes

    def rowwise(self, g: _Group, n: int, incoming: Data) -> Rows:
        ir = self.graph.nodes[n]
        node = self.graph.graph.nodes[n]
        nodes = self.nodes(g, ir)
        out: Rows = []
        for i, row in enumerate(_rows(incoming)):
            try:
                out.append(run_node(ir, row, request=row, nodes=nodes[i], now=self.now))
            except GraphEvaluationError as exc:
                where = int(g.rows[i])
                raise GraphEvaluationError(
                    node.id, node.name, f"row {where}: {exc.reason}"
                ) from exc
        return out

    def run(self, g: _Group, n: int) -> Data:
        ir = self.graph.nodes[n]
        if isinstance(ir, InputNode):
            # A group's rows ascend (a fork keeps the order of the rows it keeps), so one as
            # long as the request holds every row in order: it reads the request as it is.
            whole = len(g.rows) == self.request.height
            if whole:
                r = self.request
                request = Cols(r.height, dict(r.leaves), dict(r.objects))
            else:
                request = self.request.take(g.rows)
            if ir.schema is not None:
                return self.rowwise(g, n, request)
            return request
        incoming = self.incoming(g, n)
        if isinstance(ir, SwitchIR):
            return incoming
        if isinstance(ir, OutputNode):
            return self.rowwise(g, n, incoming) if ir.schema is not None else incoming
        space = Workspace(incoming, len(g.rows))
        out: Cols | None = None
        if isinstance(ir, TableIR) and not reads_whole_input(ir):
            out = table_cols(ir, space)
        elif isinstance(ir, ExpressionIR) and not reads_whole_input(ir):
            found = expression_cols(ir, space)
            if found is not None:
                out, failed = found
                if failed.any():
                    self.node_failed(g, n, failed)
        if out is None:
            return self.rowwise(g, n, incoming)
        if ir.node.transform.pass_through:
            return _merge_pass_through(incoming, out, len(g.rows))
        return out

    def branches(self, g: _Group, n: int) -> list[frozenset[str]]:
        ir = self.graph.nodes[n]
        assert isinstance(ir, SwitchIR)
        incoming = self.incoming(g, n)
        space = Workspace(incoming, len(g.rows))
        masks: list[pl.Series] = []
        for _, cond in ir.statements:
            mask = (
                pl.repeat(True, len(g.rows), eager=True) if cond is None else space.condition(cond)
            )
            if mask is None:
                nodes = self.nodes(g, ir)
                rows = _rows(incoming)
                return [switch_branches(ir, r, self.now, nodes[i]) for i, r in enumerate(rows)]
            masks.append(mask)
        ids = [sid for sid, _ in ir.statements]
        first = ir.node.hit_policy == "first"
        taken: list[frozenset[str]] = []
        for flags in (
            zip(*(m.to_list() for m in masks), strict=True) if masks else [()] * len(g.rows)
        ):
            chosen = [sid for sid, ok in zip(ids, flags, strict=True) if ok]
            taken.append(frozenset(chosen[:1] if first else chosen))
        return taken


def _merge_pass_through(incoming: Data, out: Cols, height: int) -> Data:
    if isinstance(incoming, Cols):
        merged = jc.merge(incoming, out)
        if merged is not None:
            return merged
    return [merge(a, b) for a, b in zip(_rows(incoming), _rows(out), strict=True)]


def _walk(run: _Run, start: _Group) -> list[tuple[pl.Series, Data]]:
    """Walk every group to its end; each finished group's rows and result."""
    done: list[tuple[pl.Series, Data]] = []
    pending = [start]
    nodes = run.graph.graph.nodes
    while pending:
        g = pending.pop()
        split = False
        while True:
            if g.ready is not None:
                kind, n, g.ready = "node", g.ready, None
            else:
                step = g.walk.next()
                if step is None:
                    break
                kind, n = step
            if kind == "switch":
                taken = run.branches(g, n)
                choices = list(dict.fromkeys(taken))
                if len(choices) > 1:
                    for choice in choices:
                        part = g.fork(pl.Series([t == choice for t in taken], dtype=pl.Boolean))
                        if not part.walk.resolve_switch(n, choice):
                            part.ready = n
                        pending.append(part)
                    split = True
                    break
                if g.walk.resolve_switch(n, choices[0] if choices else frozenset()):
                    continue
            if n in g.data:
                continue
            g.data[n] = run.run(g, n)
            g.names[n] = nodes[n].name
            if isinstance(nodes[n], OutputNode):
                break
        if not split:
            parts = [g.data[k] for k in g.walk.ending_nodes() if k in g.data]
            done.append((g.rows, _merge_ending(parts, len(g.rows))))
    return done


def _check_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """Requests as JSON-like columns: numbers, text, booleans, lists and structs."""
    for name, dtype in frame.schema.items():
        if dtype.is_numeric() or isinstance(dtype, _SUPPORTED):
            continue
        if isinstance(dtype, pl.Categorical | pl.Enum):
            frame = frame.with_columns(pl.col(name).cast(pl.String))
            continue
        raise ValueError(
            f"column {name!r} has type {dtype}, which a JSON request cannot hold; pass dates "
            "and times as ISO text or Unix seconds"
        )
    return frame


def _check_numbers(graph: ImportedGraph, frame: pl.DataFrame) -> None:
    """Fail, as row-wise does, on a float the engine cannot read (NaN, infinite, huge)."""
    suspects = pl.lit(False)
    for name, dtype in frame.schema.items():
        if dtype.is_float():
            col = pl.col(name)
            suspects = suspects | (
                col.is_nan() | col.is_infinite() | (col.abs() > 7.9e28)
            ).fill_null(False)
    bad = frame.select(suspects.alias("bad")).to_series().arg_true()
    for row in bad.to_list():
        try:
            request_value(graph, frame.row(row, named=True))
        except GraphEvaluationError as exc:
            raise GraphEvaluationError(
                exc.node_id, exc.node_name, f"row {row}: {exc.reason}"
            ) from exc


def evaluate_frame(
    graph: ImportedGraph, frame: pl.DataFrame, *, now: datetime | None = None
) -> pl.DataFrame:
    """The graph's result for every row of ``frame`` (see the module notes), the same as
    ``evaluate`` gives on each row's request (``frame.to_dicts()``). Raises
    GraphEvaluationError, naming the row, where ``evaluate`` raises on some row."""
    frame = _check_frame(frame)
    n = frame.height
    if n == 0:
        return pl.DataFrame()
    _check_numbers(graph, frame)
    run = _Run(graph, frame, now)
    start = _Group(pl.Series("rows", range(n), dtype=pl.UInt32), Walk(graph.topology))
    return _assemble(_walk(run, start), n)


def _assemble(parts: list[tuple[pl.Series, Data]], n: int) -> pl.DataFrame:
    """The result frame in request order: the parts' frames stacked, or built from per-row
    values when some part is not columnar or the parts' columns differ in kind."""
    frames: list[pl.DataFrame] = []
    for _, data in parts:
        frame = jc.to_frame(data) if isinstance(data, Cols) else None
        if frame is None:
            break
        frames.append(frame)
    else:
        try:
            stacked = pl.concat(frames, how="diagonal") if len(frames) > 1 else frames[0]
        except pl.exceptions.PolarsError:
            stacked = None
        if stacked is not None:
            order = pl.concat([rows for rows, _ in parts])
            return stacked if order.is_sorted() else stacked[order.arg_sort()]
    values: list[Any] = [None] * n
    for rows, data in parts:
        for i, value in zip(rows.to_list(), _rows(data), strict=True):
            values[i] = to_json(value)
    return jc.rows_to_frame(values)


__all__ = ["NODES_KEY", "evaluate_frame"]
