"""Expressions of the shared JDM samples, contexts to evaluate them on, and a zen-engine oracle.

Every expression the sample graphs hold is extracted by role: decision-table input fields,
unary cells (tested with ``$`` bound to the column's value), cells of columns without a field
and output cells (standard expressions), expression-node values and switch conditions.
Contexts are built per expression from the paths it reads: values at and around every number
it mentions, its strings, nulls, booleans, lists of objects for closures, and random values.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import zen

from repayguard.rules.zen import ZenError, ast, parse_expression, parse_unary, referenced_paths

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "jdm-samples"
"""GoRules' own JDM test graphs (MIT, see LICENSE-gorules-zen there), kept with the tests."""

Mode = Literal["standard", "unary"]


@dataclass(frozen=True)
class Sample:
    source: str
    mode: Mode
    role: str  # field, unary-cell, condition-cell, output-cell, expression, switch


def sample_expressions() -> list[Sample]:
    """Every distinct (expression, mode) of the sample graphs, with the first role seen."""
    found: dict[tuple[str, Mode], Sample] = {}

    def add(source: str, mode: Mode, role: str) -> None:
        if source.strip() == "" and role != "unary-cell":
            return
        found.setdefault((source, mode), Sample(source, mode, role))

    files = sorted(SAMPLES.glob("*.json"))
    assert len(files) >= 80, f"expected the shared JDM samples in {SAMPLES}"
    for file in files:
        graph = json.loads(file.read_text())
        for node in graph["nodes"]:
            content = node.get("content") or {}
            if node["type"] == "decisionTableNode":
                columns = {c["id"]: c for c in content["inputs"]}
                outputs = {c["id"] for c in content["outputs"]}
                for column in content["inputs"]:
                    if column.get("field"):
                        add(column["field"], "standard", "field")
                for rule in content["rules"]:
                    for key, cell in rule.items():
                        if key in columns:
                            if columns[key].get("field"):
                                if cell.strip():  # an empty cell matches anything
                                    add(cell, "unary", "unary-cell")
                            else:
                                add(cell, "standard", "condition-cell")
                        elif key in outputs:
                            add(cell, "standard", "output-cell")
                if content.get("inputField"):
                    add(content["inputField"], "standard", "field")
            elif node["type"] == "expressionNode":
                for item in content["expressions"]:
                    add(item["value"], "standard", "expression")
                if content.get("inputField"):
                    add(content["inputField"], "standard", "field")
            elif node["type"] == "switchNode":
                for statement in content["statements"]:
                    add(statement["condition"], "standard", "switch")
    return sorted(found.values(), key=lambda s: (s.mode, s.source))


# -- the oracle -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A result, or the fact of an error (``error`` holds its first line)."""

    value: Any = None
    error: str | None = None


def zen_outcome(sample_mode: Mode, source: str, context: dict[str, Any]) -> Outcome:
    try:
        if sample_mode == "unary":
            return Outcome(zen.evaluate_unary_expression(source, context))
        return Outcome(zen.evaluate_expression(source, context))
    except Exception as exc:  # the binding raises RuntimeError/Exception with a backtrace
        return Outcome(error=str(exc).split("\n", 1)[0][:300])


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types (1.0 is not True, -0.0 is not 0.0, dict order aside)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b and str(a) == str(b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


# -- contexts ---------------------------------------------------------------------------------


def _literals(node: ast.Node) -> tuple[list[Decimal], list[str]]:
    nums: list[Decimal] = []
    strs: list[str] = []

    def walk(n: Any) -> None:
        if isinstance(n, ast.Number):
            nums.append(n.value)
        elif isinstance(n, ast.String):
            strs.append(n.value)
        if hasattr(n, "__slots__"):
            for slot in n.__slots__:
                child = getattr(n, slot)
                if isinstance(child, tuple):
                    for c in child:
                        if isinstance(c, tuple):
                            for cc in c:
                                walk(cc)
                        else:
                            walk(c)
                else:
                    walk(child)

    walk(node)
    return nums, strs


def _pointer_keys(node: Any, keys: set[str]) -> None:
    if (
        isinstance(node, ast.Member)
        and isinstance(node.node, ast.Pointer)
        and isinstance(node.property, ast.String)
    ):
        keys.add(node.property.value)
    if hasattr(node, "__slots__"):
        for slot in node.__slots__:
            child = getattr(node, slot)
            for c in child if isinstance(child, tuple) else (child,):
                for cc in c if isinstance(c, tuple) else (c,):
                    _pointer_keys(cc, keys)


def _closure_sources(node: Any, out: list[tuple[tuple[str, ...], set[str]]]) -> None:
    """Paths used as the array of a closure call, with the ``#.key`` names its body reads."""
    if (
        isinstance(node, ast.Call)
        and node.arguments
        and isinstance(node.arguments[-1], ast.Closure)
    ):
        keys: set[str] = set()
        _pointer_keys(node.arguments[-1], keys)
        for path in referenced_paths(node.arguments[0]):
            out.append((path, keys))
    if hasattr(node, "__slots__"):
        for slot in node.__slots__:
            child = getattr(node, slot)
            for c in child if isinstance(child, tuple) else (child,):
                for cc in c if isinstance(c, tuple) else (c,):
                    _closure_sources(cc, out)


class _Pool:
    """Values to draw from: numbers at and around the expression's numbers, its strings, and
    a spread of other types (null, booleans, dates, lists, objects), in that order of weight."""

    def __init__(self, node: ast.Node, rng: random.Random) -> None:
        nums, strs = _literals(node)
        self.rng = rng
        self.numbers: list[Any] = [
            0,
            1,
            -1,
            0.5,
            2.5,
            100,
            1e-7,
            12345.678,
            0.1,
            0.30000000000000004,
        ]
        for n in nums:
            f = float(n)
            self.numbers += [f, f + 1, f - 1, f + 0.5, f - 0.5, f * 10, -f, f + 1e-9, int(f)]
        self.numbers += [rng.uniform(-1000, 1000) for _ in range(3)]
        self.strings: list[Any] = ["", "x", *strs, *(t.upper() for t in strs[:5])]
        self.strings += [t + "x" for t in strs[:5]]
        self.others: list[Any] = [
            None, True, False, "2023-05-17", "2021-01-01 10:30:00", "2024-02-29T23:59:59Z",
            "22:30", "05:00", [1, 2, 3], [], ["a", strs[0] if strs else "b"], {"a": 1},
            [{"k": 1}], *strs[:3],
        ]  # fmt: skip

    def draw(self) -> Any:
        roll = self.rng.random()
        if roll < 0.5:
            return self.rng.choice(self.numbers)
        if roll < 0.75:
            return self.rng.choice(self.strings)
        return self.rng.choice(self.others)


def _put(root: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    """Set ``path`` unless something is already there; parents become objects as needed."""
    target = root
    for key in path[:-1]:
        existing = target.get(key)
        if not isinstance(existing, dict):
            existing = {}
            target[key] = existing
        target = existing
    target.setdefault(path[-1], value)


def contexts(sample: Sample, count: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    """``count`` contexts for a sample (a unary sample's contexts carry ``$``)."""
    rng = random.Random(f"{seed}:{sample.mode}:{sample.source}")
    try:
        node = (
            parse_unary(sample.source)
            if sample.mode == "unary"
            else parse_expression(sample.source)
        )
    except ZenError:
        node = ast.Null()
    pool = _Pool(node, rng)
    paths = sorted(p for p in referenced_paths(node) if p)
    closures: list[tuple[tuple[str, ...], set[str]]] = []
    _closure_sources(node, closures)
    for _ in range(count):
        root: dict[str, Any] = {}
        for path, keys in closures:
            if not path:
                continue
            if keys:
                items = [{k: pool.draw() for k in keys} for _ in range(rng.randint(0, 3))]
            else:
                items = [pool.draw() for _ in range(rng.randint(0, 3))]
            _put(root, path, items if rng.random() < 0.85 else pool.draw())
        for path in paths:
            if path[0] == "$" and sample.mode == "unary" and len(path) == 1:
                continue
            _put(root, path, pool.draw())
        if sample.mode == "unary" and "$" not in root:
            root["$"] = pool.draw()
        yield root
