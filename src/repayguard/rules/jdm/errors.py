"""Why a JDM graph is refused at import, and why an imported graph failed on one input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Refusal:
    """One reason a graph cannot be imported exactly.

    ``node_id``/``node_name`` name the node (None for graph-level problems such as a cycle),
    ``where`` the place inside it (``rule 3, column 'Age' (customer.age)``, ``expression
    'total'``, ``statement 2``), ``source`` the cell or expression text, ``construct`` the
    thing repayguard does not support or the rule broken, ``hint`` what the user can do.
    """

    node_id: str | None
    node_name: str | None
    where: str | None
    source: str | None
    construct: str
    hint: str = ""

    def __str__(self) -> str:
        parts = []
        if self.node_id is not None:
            parts.append(f"node {self.node_name!r} (id {self.node_id})")
        if self.where:
            parts.append(self.where)
        if self.source is not None:
            parts.append(f"`{self.source}`")
        head = ", ".join(parts)
        text = f"{head}: {self.construct}" if head else self.construct
        return f"{text} -- {self.hint}" if self.hint else text

    def as_dict(self) -> dict[str, str | None]:
        """The refusal as JSON."""
        return {
            "node_id": self.node_id,
            "node_name": self.node_name,
            "where": self.where,
            "source": self.source,
            "construct": self.construct,
            "hint": self.hint or None,
        }


class GraphRefused(ValueError):
    """A JDM graph that cannot be imported exactly; ``refusals`` lists every reason found.

    Import is all or nothing: a graph with any refusal is not imported at all.
    """

    def __init__(self, refusals: list[Refusal] | tuple[Refusal, ...]) -> None:
        self.refusals: tuple[Refusal, ...] = tuple(refusals)
        if len(self.refusals) == 1:
            text = f"the graph cannot be imported: {self.refusals[0]}"
        else:
            lines = "\n".join(f"  - {r}" for r in self.refusals)
            text = f"the graph cannot be imported ({len(self.refusals)} problems):\n{lines}"
        super().__init__(text)


class GraphEvaluationError(ValueError):
    """An imported graph failed on one input, where zen-engine fails too: an expression node's
    expression raised, a loop node's input is not a list, or the input does not fit the input
    node's schema. ``node_id``/``node_name`` name the node."""

    def __init__(self, node_id: str, node_name: str, message: str) -> None:
        self.node_id = node_id
        self.node_name = node_name
        self.reason = message
        super().__init__(f"node {node_name!r} (id {node_id}): {message}")
