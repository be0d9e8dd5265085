"""Inputs that exercise a JDM graph: values at and around every cell boundary, strings from the
cells, nulls, values of the wrong type, nested objects for dotted paths, lists for loops, and
seeded random combinations -- plus the comparison of two results, strictly typed.

The paths a graph reads come from its syntax trees: table fields and cells, output and
expression texts, switch conditions; a node's ``inputField`` prefixes the paths inside it, and
in loop mode (or inside ``map``/``filter``/... closures) they point into list elements.
"""

from __future__ import annotations

import copy
import random
from collections import defaultdict
from decimal import Decimal
from typing import Any

from repayguard.rules.jdm.importer import (
    Compiled,
    ExpressionIR,
    ImportedGraph,
    SwitchIR,
    TableIR,
)
from repayguard.rules.zen import ast

Path = tuple[str, ...]
EACH = "[]"  # a path step into every element of a list

_GENERAL: list[Any] = [0, 1, 2, 5, 10, 18, 50, 100, 1000, -1, 0.5, 2.5, "", "abc", True, False]


def _path_of(node: ast.Node, element: Path | None) -> Path | None:
    """The data path a member chain reads (``a.b.c``, ``#.x``, ``$root.y``), else None."""
    steps: list[str] = []
    while isinstance(node, ast.Member):
        if not isinstance(node.property, ast.String):
            return None
        steps.append(node.property.value)
        node = node.node
    steps.reverse()
    if isinstance(node, ast.Identifier):
        if node.name.startswith("$"):
            return None
        return (node.name, *steps)
    if isinstance(node, ast.Root):
        return tuple(steps) or None
    if isinstance(node, ast.Pointer) and element is not None:
        return (*element, *steps)
    return None


def _literals(node: ast.Node) -> list[Any]:
    """Every number, string and boolean literal in a tree."""
    out: list[Any] = []

    def walk(n: Any) -> None:
        if isinstance(n, (ast.Number, ast.String, ast.Bool)):
            out.append(n.value)
        elif isinstance(n, tuple):
            for item in n:
                walk(item)
        elif hasattr(n, "__dataclass_fields__"):
            for name in n.__dataclass_fields__:
                walk(getattr(n, name))

    walk(node)
    return out


class _Collector:
    """Paths a graph reads, with the literals each is compared against."""

    def __init__(self) -> None:
        self.hints: dict[Path, list[Any]] = defaultdict(list)
        self.strings: set[str] = set()
        self.numbers: set[Any] = set()

    def tree(self, node: Any, prefix: Path, element: Path | None = None) -> None:
        for value in _literals(node):
            if isinstance(value, str):
                self.strings.add(value)
            elif isinstance(value, Decimal):
                self.numbers.add(value)
        self._walk(node, prefix, element)

    def _walk(self, node: Any, prefix: Path, element: Path | None) -> None:
        def full(p: Path) -> Path:
            inside = element is not None and p[: len(element)] == element
            return p if inside else (*prefix, *p)

        path = _path_of(node, element) if isinstance(node, ast.Member | ast.Identifier) else None
        if path is not None:
            self.hints[full(path)]
            return
        if isinstance(node, ast.Binary):
            for side, other in ((node.left, node.right), (node.right, node.left)):
                p = _path_of(side, element)
                if p is not None:
                    self.hints[full(p)].extend(_literals(other))
        if isinstance(node, ast.Call):
            args = node.arguments
            p = _path_of(args[0], element) if args else None
            if p is not None:
                for rest in args[1:]:
                    if not isinstance(rest, ast.Closure):
                        self.hints[full(p)].extend(_literals(rest))
                if len(args) == 2 and isinstance(args[1], ast.Closure):
                    self._walk(args[0], prefix, element)
                    self._walk(args[1].body, prefix, (*full(p), EACH))
                    return
        if isinstance(node, tuple):
            for item in node:
                self._walk(item, prefix, element)
        elif hasattr(node, "__dataclass_fields__"):
            for name in node.__dataclass_fields__:
                self._walk(getattr(node, name), prefix, element)

    def compiled(self, c: Compiled | None, prefix: Path, dollar: Path | None = None) -> None:
        if c is None:
            return
        self.tree(c.node, prefix)
        if dollar is not None:
            self.hints[dollar].extend(_literals(c.node))


def _prefix_of(ir: TableIR | ExpressionIR) -> Path:
    t = ir.node.transform
    if ir.input_field is None:
        return ()
    base = _path_of(ir.input_field.node, None)
    if base is None:
        return ()
    return (*base, EACH) if t.execution_mode == "loop" else base


def collect(graph: ImportedGraph) -> _Collector:
    """The paths and literals of every node."""
    found = _Collector()
    for ir in graph.nodes:
        if isinstance(ir, TableIR):
            found.compiled(ir.input_field, ())
            prefix = _prefix_of(ir)
            for k, field in enumerate(ir.fields):
                found.compiled(field, prefix)
                target = None
                if field is not None:
                    p = _path_of(field.node, None)
                    target = (*prefix, *p) if p is not None else None
                for rule in ir.rules:
                    for cell in rule.cells:
                        if cell.column == k:
                            found.compiled(cell.test, prefix, target)
            for rule in ir.rules:
                for _, out in rule.outputs:
                    found.compiled(out, prefix)
        elif isinstance(ir, ExpressionIR):
            found.compiled(ir.input_field, ())
            prefix = _prefix_of(ir)
            for _, expr in ir.assignments:
                found.compiled(expr, prefix)
        elif isinstance(ir, SwitchIR):
            for _, cond in ir.statements:
                found.compiled(cond, ())
    return found


def _number(value: Decimal | float | int) -> Any:
    d = Decimal(str(value))
    return int(d) if d == d.to_integral_value() and abs(d) < 10**15 else float(d)


def candidates(hints: list[Any], found: _Collector) -> list[Any]:
    """Values to try at one path: each literal and its neighbours, nulls, wrong types."""
    out: list[Any] = [None]
    for h in hints:
        if isinstance(h, bool):
            out += [h, not h]
        elif isinstance(h, Decimal):
            if abs(h) > 10**12:
                continue
            out += [_number(h + d) for d in (0, -1, 1, Decimal("-0.5"), Decimal("0.5"))]
            out += [_number(h + Decimal("0.001")), _number(h - Decimal("0.001"))]
        elif isinstance(h, str):
            out += [h, h.upper(), h + "x"]
    if not any(isinstance(v, int | float) and not isinstance(v, bool) for v in out):
        out += [0, 1, 10, 100, -5, 2.5]
    if not any(isinstance(v, str) for v in out):
        out += sorted(found.strings)[:6] or ["abc"]
    out += ["zzz", True]
    unique: list[Any] = []
    for v in out:
        if not any(type(v) is type(u) and v == u for u in unique):
            unique.append(v)
    return unique


def set_path(context: dict[str, Any], path: Path, value: Any, rng: random.Random) -> None:
    """Write ``value`` at ``path``, creating objects (and one-element lists for ``[]``)."""
    head: Any = context
    for k, step in enumerate(path[:-1]):
        nxt = path[k + 1]
        if step == EACH:
            continue
        if not isinstance(head, dict):
            return
        if nxt == EACH:
            items = head.get(step)
            if not isinstance(items, list) or not items:
                items = [{} for _ in range(rng.randint(1, 3))]
                head[step] = items
            dicts = [i for i in items if isinstance(i, dict)]
            if not dicts:
                return
            rest = path[k + 2 :]
            targets = dicts if rng.random() < 0.5 else [rng.choice(dicts)]
            for item in targets:
                if rest:
                    set_path(item, rest, value, rng)
            return
        if not isinstance(head.get(step), dict):
            head[step] = {}
        head = head[step]
    if isinstance(head, dict) and path and path[-1] != EACH:
        head[path[-1]] = value


def generate(
    graph: ImportedGraph, seeds: list[dict[str, Any]], *, limit: int, seed: int
) -> list[dict[str, Any]]:
    """Up to ``limit`` inputs: boundary sweeps per path over the seeds, then random mixes."""
    rng = random.Random(seed)
    found = collect(graph)
    pools = {path: candidates(hints, found) for path, hints in found.hints.items()}
    skeleton: dict[str, Any] = {}
    for path, pool in sorted(pools.items(), key=lambda kv: len(kv[0])):
        typed = [v for v in pool if v is not None]
        set_path(skeleton, path, typed[0] if typed else None, rng)
    bases = [*(copy.deepcopy(s) for s in seeds), skeleton, {}]
    out: list[dict[str, Any]] = [copy.deepcopy(b) for b in bases]
    sweep: list[dict[str, Any]] = []
    for path, pool in pools.items():
        for k, value in enumerate(pool[:14]):
            context = copy.deepcopy(bases[k % len(bases)])
            set_path(context, path, value, rng)
            sweep.append(context)
    rng.shuffle(sweep)
    out += sweep[: max(0, limit * 2 // 3 - len(out))]
    paths = list(pools) or [("x",), ("value",)]  # a graph that reads nothing: any request
    pools = pools or {p: candidates([], found) for p in paths}
    while len(out) < limit:
        context = copy.deepcopy(rng.choice(bases))
        for path in paths:
            roll = rng.random()
            if roll < 0.6:
                set_path(context, path, rng.choice(pools[path]), rng)
            elif roll < 0.7:
                set_path(context, path, rng.choice(_GENERAL), rng)
        out.append(context)
    return out[:limit]


def same(a: Any, b: Any) -> bool:
    """Strict JSON equality: booleans are not numbers, numbers compare by value."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b
