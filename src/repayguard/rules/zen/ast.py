"""The typed, frozen syntax tree of a ZEN expression.

Unary tests (decision-table cells) parse to the same nodes: ``>= 30`` becomes
``Binary(">=", Identifier("$"), Number(30))`` and ``"a", "b"`` becomes an ``or`` of two
equalities, exactly as zen-engine rewrites them, so one evaluator serves both modes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

BinaryOp = Literal[
    "+", "-", "*", "/", "%", "^", "==", "!=", "<", "<=", ">", ">=", "in", "not in",
    "and", "or", "??",
]  # fmt: skip
UnaryOp = Literal["-", "+", "!"]


@dataclass(frozen=True, slots=True)
class Null:
    """``null``."""


@dataclass(frozen=True, slots=True)
class Bool:
    value: bool


@dataclass(frozen=True, slots=True)
class Number:
    """A number literal; ``value`` keeps the written scale (``1.50``)."""

    value: Decimal


@dataclass(frozen=True, slots=True)
class String:
    value: str


@dataclass(frozen=True, slots=True)
class Template:
    """A backtick string: ``parts`` alternate literal text (String) and ``${...}`` expressions."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Identifier:
    """A top-level name read from the context (``$`` is the tested value in a cell)."""

    name: str


@dataclass(frozen=True, slots=True)
class Root:
    """``$root``: the whole context."""


@dataclass(frozen=True, slots=True)
class Pointer:
    """``#``: the current element inside a closure (map, filter, some, ...)."""


@dataclass(frozen=True, slots=True)
class Array:
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Object:
    """An object literal; keys are expressions converted with ``string(...)``."""

    entries: tuple[tuple[Node, Node], ...]


@dataclass(frozen=True, slots=True)
class Member:
    """``node.name`` or ``node[index]``."""

    node: Node
    property: Node


@dataclass(frozen=True, slots=True)
class Slice:
    """``node[start:end]`` (both ends included; a missing end means the last element)."""

    node: Node
    start: Node | None
    end: Node | None


@dataclass(frozen=True, slots=True)
class Interval:
    """``[a..b]``, ``(a..b)``, ``[a..b)``...; a reversed bracket (``]a..b[``) means outside."""

    left_bracket: str
    left: Node
    right: Node
    right_bracket: str


@dataclass(frozen=True, slots=True)
class Conditional:
    condition: Node
    on_true: Node
    on_false: Node


@dataclass(frozen=True, slots=True)
class Unary:
    operator: UnaryOp
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary:
    operator: BinaryOp
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Parenthesized:
    node: Node


@dataclass(frozen=True, slots=True)
class Closure:
    """The second argument of map/filter/some/...: evaluated once per element with ``#``."""

    body: Node


@dataclass(frozen=True, slots=True)
class Call:
    """A built-in function call; closure functions carry a Closure as second argument."""

    name: str
    arguments: tuple[Node, ...]


Node = (
    Null | Bool | Number | String | Template | Identifier | Root | Pointer | Array | Object
    | Member | Slice | Interval | Conditional | Unary | Binary | Parenthesized | Closure | Call
)  # fmt: skip
