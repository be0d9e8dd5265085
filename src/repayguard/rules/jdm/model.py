"""A typed model of GoRules JDM decision graphs: nodes, their settings, and edges.

A JDM graph is a list of nodes (input, output, decision table, expression, switch) and the
edges between them; :mod:`.reader` builds this model from the editor's JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

HitPolicy = Literal["first", "collect"]
ExecutionMode = Literal["single", "loop"]


@dataclass(frozen=True, slots=True)
class Transform:
    """How a table or expression node reads and writes the data flowing through it.

    ``input_field``: an expression selecting the node's input (else the whole incoming data);
    ``execution_mode`` ``loop``: evaluate once per element of that (list) input;
    ``output_path``: nest the node's output under this dotted path;
    ``pass_through``: merge the output over the node's incoming data instead of replacing it.
    """

    input_field: str | None = None
    output_path: str | None = None
    execution_mode: ExecutionMode = "single"
    pass_through: bool = False


@dataclass(frozen=True, slots=True)
class Column:
    """A decision-table column: ``field`` is an expression for inputs (None: each cell is a
    whole boolean expression) and a dotted output path for outputs."""

    id: str
    name: str
    field: str | None


@dataclass(frozen=True, slots=True)
class Rule:
    """A decision-table row: its cells by column id (a missing cell is empty, i.e. "any")."""

    id: str
    description: str
    cells: Mapping[str, str]

    def cell(self, column_id: str) -> str:
        return self.cells.get(column_id, "")


@dataclass(frozen=True, slots=True)
class Assignment:
    """One line of an expression node: ``key`` (a dotted path) receives ``value``."""

    id: str
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class Statement:
    """One branch of a switch node: edges whose ``sourceHandle`` is ``id`` are taken when
    ``condition`` holds (an empty condition always holds)."""

    id: str
    condition: str


@dataclass(frozen=True, slots=True)
class Node:
    """Common to every node kind."""

    id: str
    name: str
    position: tuple[float, float]

    @property
    def kind(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class InputNode(Node):
    """Where the request enters; ``schema`` (JSON Schema) validates it when given."""

    schema: Mapping[str, Any] | None = None

    @property
    def kind(self) -> str:
        return "inputNode"


@dataclass(frozen=True, slots=True)
class OutputNode(Node):
    """Reaching an output node ends the evaluation; ``schema`` validates what reaches it."""

    schema: Mapping[str, Any] | None = None

    @property
    def kind(self) -> str:
        return "outputNode"


@dataclass(frozen=True, slots=True)
class TableNode(Node):
    """A decision table: unary-test cells per input column, expressions per output column."""

    hit_policy: HitPolicy = "first"
    inputs: tuple[Column, ...] = ()
    outputs: tuple[Column, ...] = ()
    rules: tuple[Rule, ...] = ()
    transform: Transform = field(default_factory=Transform)

    @property
    def kind(self) -> str:
        return "decisionTableNode"


@dataclass(frozen=True, slots=True)
class ExpressionNode(Node):
    """Ordered assignments; each may read the earlier ones through ``$``."""

    assignments: tuple[Assignment, ...] = ()
    transform: Transform = field(default_factory=Transform)

    @property
    def kind(self) -> str:
        return "expressionNode"


@dataclass(frozen=True, slots=True)
class SwitchNode(Node):
    """Routes the data it receives to the edges of the statement(s) that hold."""

    hit_policy: HitPolicy = "first"
    statements: tuple[Statement, ...] = ()

    @property
    def kind(self) -> str:
        return "switchNode"


AnyNode = InputNode | OutputNode | TableNode | ExpressionNode | SwitchNode


@dataclass(frozen=True, slots=True)
class Edge:
    """A connection; ``source_handle`` names the switch statement it belongs to, if any."""

    id: str
    source: str
    target: str
    source_handle: str | None = None


@dataclass(frozen=True, slots=True)
class JdmGraph:
    """A whole graph: nodes and edges in document order (the order matters to evaluation,
    as it does in zen-engine: it decides traversal and merge order)."""

    nodes: tuple[AnyNode, ...]
    edges: tuple[Edge, ...]

    def node(self, node_id: str) -> AnyNode:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(node_id)
