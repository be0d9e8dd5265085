"""Import a JDM graph: check its shape, compile every cell and expression, refuse or accept whole.

``import_graph`` is all or nothing. It collects every problem -- node kinds repayguard does not
evaluate, malformed structure, cycles, cells and expressions that do not parse or use a
construct the ZEN implementation refuses, JSON Schema keywords it cannot apply -- and raises
GraphRefused naming, for each, the node (id and name), the cell or expression, and the
construct. A graph that imports evaluates exactly as zen-engine evaluates it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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
from repayguard.rules.jdm.reader import read_graph
from repayguard.rules.jdm.schema import unsupported_keywords
from repayguard.rules.jdm.walker import Topology
from repayguard.rules.zen import (
    ZenSyntaxError,
    ZenUnsupported,
    compile_expression,
    compile_unary,
    parse_expression,
    parse_unary,
)


@dataclass(frozen=True, slots=True)
class Compiled:
    """One expression: its text, its syntax tree (for vectorizing) and its evaluator."""

    source: str
    node: Any
    run: Any  # Expression (``.evaluate``) or UnaryTest (``.test``)


@dataclass(frozen=True, slots=True)
class TableCell:
    """A non-empty input cell: its column's index and the test (a unary test when the column
    has a field, else a whole expression that must be true)."""

    column: int
    test: Compiled
    unary: bool


@dataclass(frozen=True, slots=True)
class TableRuleIR:
    """A rule ready to evaluate: its cells to test and its outputs to compute, in order."""

    id: str
    cells: tuple[TableCell, ...]
    outputs: tuple[tuple[str, Compiled], ...]


@dataclass(frozen=True, slots=True)
class TableIR:
    node: TableNode
    fields: tuple[Compiled | None, ...]  # per input column
    rules: tuple[TableRuleIR, ...]
    input_field: Compiled | None


@dataclass(frozen=True, slots=True)
class ExpressionIR:
    node: ExpressionNode
    assignments: tuple[tuple[str, Compiled], ...]
    input_field: Compiled | None


@dataclass(frozen=True, slots=True)
class SwitchIR:
    node: SwitchNode
    statements: tuple[tuple[str, Compiled | None], ...]  # None: an empty condition (always)


NodeIR = TableIR | ExpressionIR | SwitchIR | InputNode | OutputNode


@dataclass(frozen=True, slots=True)
class ImportedGraph:
    """A graph that evaluates exactly as zen-engine does: the model, its walk topology and
    every node compiled (``nodes[k]`` belongs to ``graph.nodes[k]``)."""

    graph: JdmGraph
    topology: Topology
    nodes: tuple[NodeIR, ...]


class _Compiler:
    def __init__(self) -> None:
        self.refusals: list[Refusal] = []

    def _compile(
        self,
        source: str,
        node: AnyNode,
        where: str,
        unary: bool,
    ) -> Compiled | None:
        parse: Callable[[str], Any] = parse_unary if unary else parse_expression
        build: Callable[[str], Any] = compile_unary if unary else compile_expression
        try:
            return Compiled(source, parse(source), build(source))
        except ZenUnsupported as exc:
            self.refusals.append(
                Refusal(
                    node.id,
                    node.name,
                    where,
                    source,
                    f"{exc.construct} is not supported ({exc.reason})",
                    "rewrite it with the supported constructs listed in docs/jdm.md",
                )
            )
        except ZenSyntaxError as exc:
            self.refusals.append(
                Refusal(
                    node.id,
                    node.name,
                    where,
                    source,
                    f"syntax error: {exc.reason} at position {exc.position}"
                    + (f" (expected {exc.expected})" if exc.expected else ""),
                    "fix the expression in the GoRules editor; zen-engine cannot read it either",
                )
            )
        return None

    def expression(self, source: str, node: AnyNode, where: str) -> Compiled | None:
        return self._compile(source, node, where, unary=False)

    def unary(self, source: str, node: AnyNode, where: str) -> Compiled | None:
        return self._compile(source, node, where, unary=True)

    def transform(self, t: Transform, node: AnyNode) -> Compiled | None:
        if t.input_field is None:
            return None
        return self.expression(t.input_field, node, "input field")

    def table(self, node: TableNode) -> TableIR:
        fields: list[Compiled | None] = []
        for col in node.inputs:
            fields.append(
                None
                if col.field is None
                else self.expression(col.field, node, f"input column {col.name!r} (its field)")
            )
        rules: list[TableRuleIR] = []
        for number, rule in enumerate(node.rules, start=1):
            cells: list[TableCell] = []
            for k, col in enumerate(node.inputs):
                text = rule.cell(col.id)
                if not text.strip():
                    continue
                where = f"rule {number}, input column {col.name!r}" + (
                    f" ({col.field})" if col.field else ""
                )
                unary = col.field is not None
                test = (
                    self.unary(text, node, where) if unary else self.expression(text, node, where)
                )
                if test is not None:
                    cells.append(TableCell(k, test, unary))
            outputs: list[tuple[str, Compiled]] = []
            for col in node.outputs:
                text = rule.cell(col.id)
                if not text.strip() or col.field is None:
                    continue
                where = f"rule {number}, output column {col.name!r} ({col.field})"
                value = self.expression(text, node, where)
                if value is not None:
                    outputs.append((col.field, value))
            rules.append(TableRuleIR(rule.id, tuple(cells), tuple(outputs)))
        return TableIR(node, tuple(fields), tuple(rules), self.transform(node.transform, node))

    def expressions(self, node: ExpressionNode) -> ExpressionIR:
        out: list[tuple[str, Compiled]] = []
        for a in node.assignments:
            if a.key == "" or a.value == "":
                continue
            value = self.expression(a.value, node, f"expression {a.key!r}")
            if value is not None:
                out.append((a.key, value))
        return ExpressionIR(node, tuple(out), self.transform(node.transform, node))

    def switch(self, node: SwitchNode) -> SwitchIR:
        out: list[tuple[str, Compiled | None]] = []
        for number, s in enumerate(node.statements, start=1):
            if s.condition == "":
                out.append((s.id, None))
                continue
            cond = self.expression(s.condition, node, f"statement {number} (condition)")
            if cond is not None:
                out.append((s.id, cond))
        return SwitchIR(node, tuple(out))

    def schema(self, node: InputNode | OutputNode) -> None:
        if node.schema is None:
            return
        for keyword in unsupported_keywords(node.schema):
            self.refusals.append(
                Refusal(
                    node.id,
                    node.name,
                    "JSON Schema",
                    keyword,
                    "a JSON Schema keyword repayguard does not apply",
                    "remove it, or use type, properties, required, enum, const, items, "
                    "minimum/maximum, minLength/maxLength, minItems/maxItems",
                )
            )


def import_graph(document: Mapping[str, Any]) -> ImportedGraph:
    """Check and compile a JDM graph (the editor's JSON, as a dict); all or nothing.

    Raises GraphRefused with every problem found (see the module notes)."""
    graph, problems = read_graph(document)
    compiler = _Compiler()
    compiler.refusals += problems
    nodes: list[NodeIR] = []
    for node in graph.nodes:
        if isinstance(node, TableNode):
            nodes.append(compiler.table(node))
        elif isinstance(node, ExpressionNode):
            nodes.append(compiler.expressions(node))
        elif isinstance(node, SwitchNode):
            nodes.append(compiler.switch(node))
        else:
            compiler.schema(node)
            nodes.append(node)
    if compiler.refusals:
        raise GraphRefused(compiler.refusals)
    return ImportedGraph(graph, Topology.of(graph), tuple(nodes))
