"""The order in which a JDM graph's nodes run, and how switch nodes prune it -- as zen-engine.

Results depend on this order (which node's output wins a merge, which output node is reached
first, what ``$nodes`` holds), so repayguard follows zen-engine's walk exactly:

* A stack starts with the input node. A popped node whose predecessors have not all run is
  pushed back with those predecessors on top; otherwise it runs and its successors are pushed.
  Neighbours are listed newest edge first, so the target of a node's *first* edge runs first.
* A node's input is the merge (``values.merge``) of its predecessors' outputs, newest edge
  first, so the source of the first edge into a node wins conflicts; ``$nodes`` (every node's
  output so far, by node name) is added to it.
* A switch node, when reached, evaluates its statements and removes every outgoing edge that
  does not belong to a statement that holds (edges without a handle included). Removing an
  edge prunes recursively: a node left without incoming edges loses its outgoing ones, a node
  left without outgoing edges loses its incoming ones, and a node with no outgoing edge left is
  deleted. If anything was removed the walk restarts from the input node; nodes that already
  ran keep their output and are not run again. Popping a deleted node ends the walk.
* Reaching an output node ends the walk. The result is the merge, in node order, of the
  outputs of the nodes visited since the last restart that have no outgoing edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from repayguard.rules.jdm.model import InputNode, JdmGraph, SwitchNode


@dataclass(frozen=True, slots=True)
class Topology:
    """The graph's nodes by index and its edges by index, in document order."""

    node_ids: tuple[str, ...]
    edges: tuple[tuple[int, int, str | None], ...]  # (source, target, source handle)
    out_edges: tuple[tuple[int, ...], ...]
    in_edges: tuple[tuple[int, ...], ...]
    inputs: tuple[int, ...]
    switches: frozenset[int]

    @staticmethod
    def of(graph: JdmGraph) -> Topology:
        index = {n.id: k for k, n in enumerate(graph.nodes)}
        edges = tuple((index[e.source], index[e.target], e.source_handle) for e in graph.edges)
        outs: list[list[int]] = [[] for _ in graph.nodes]
        ins: list[list[int]] = [[] for _ in graph.nodes]
        for k, (s, t, _) in enumerate(edges):
            outs[s].append(k)
            ins[t].append(k)
        return Topology(
            tuple(n.id for n in graph.nodes),
            edges,
            tuple(tuple(x) for x in outs),
            tuple(tuple(x) for x in ins),
            tuple(k for k, n in enumerate(graph.nodes) if isinstance(n, InputNode)),
            frozenset(k for k, n in enumerate(graph.nodes) if isinstance(n, SwitchNode)),
        )


@dataclass(slots=True)
class Walk:
    """The walk's state for one request (or, in batch, for a group of rows that took the same
    switch branches so far). ``copy`` forks it when rows of a batch branch differently."""

    topo: Topology
    dead_edges: set[int] = field(default_factory=set)
    dead_nodes: set[int] = field(default_factory=set)
    visited: set[int] = field(default_factory=set)
    to_visit: list[int] = field(default_factory=list)
    switches_done: set[int] = field(default_factory=set)
    restarts: int = 0

    def __post_init__(self) -> None:
        if not self.to_visit and not self.visited:
            self.to_visit = [n for n in self.topo.inputs if n not in self.dead_nodes]

    def copy(self) -> Walk:
        return Walk(
            self.topo,
            set(self.dead_edges),
            set(self.dead_nodes),
            set(self.visited),
            list(self.to_visit),
            set(self.switches_done),
            self.restarts,
        )

    # -- neighbours, newest edge first ------------------------------------------------------

    def _live_out(self, n: int) -> list[int]:
        return [e for e in reversed(self.topo.out_edges[n]) if e not in self.dead_edges]

    def _live_in(self, n: int) -> list[int]:
        return [e for e in reversed(self.topo.in_edges[n]) if e not in self.dead_edges]

    def successors(self, n: int) -> list[int]:
        return [self.topo.edges[e][1] for e in self._live_out(n)]

    def predecessors(self, n: int) -> list[int]:
        """The nodes feeding ``n``, in merge order (the last one wins a conflict)."""
        return [self.topo.edges[e][0] for e in self._live_in(n)]

    # -- stepping ---------------------------------------------------------------------------

    def next(self) -> tuple[str, int] | None:
        """The next step: ``("switch", n)`` when switch ``n`` must decide its branches (answer
        with ``resolve_switch``), ``("node", n)`` when node ``n`` runs, None when done."""
        if self.restarts >= 1000:
            return None
        while self.to_visit:
            n = self.to_visit.pop()
            if n in self.visited:
                continue
            if n in self.dead_nodes:
                self.to_visit.clear()
                return None
            waiting = [p for p in self.predecessors(n) if p not in self.visited]
            if waiting:
                self.to_visit.append(n)
                self.to_visit.extend(waiting)
                continue
            self.visited.add(n)
            if n in self.topo.switches and n not in self.switches_done:
                return ("switch", n)
            self.to_visit.extend(self.successors(n))
            return ("node", n)
        return None

    def resolve_switch(self, n: int, holding: frozenset[str]) -> bool:
        """Keep only the edges of switch ``n`` whose handle is in ``holding``. True when edges
        were removed and the walk restarted; False when ``n`` now runs as a node."""
        self.switches_done.add(n)
        doomed = [e for e in self._live_out(n) if self.topo.edges[e][2] not in holding]
        for e in doomed:
            self._remove_edge(e)
        if doomed:
            self.visited.clear()
            self.to_visit = [i for i in self.topo.inputs if i not in self.dead_nodes]
            self.restarts += 1
            return True
        self.to_visit.extend(self.successors(n))
        return False

    def _remove_edge(self, e: int) -> None:
        if e in self.dead_edges:
            return
        self.dead_edges.add(e)
        source, target, _ = self.topo.edges[e]
        if not self._live_in(target):
            for other in self._live_out(target):
                self._remove_edge(other)
            if not self._live_out(target):
                self._kill(target)
        if not self._live_out(source):
            for other in self._live_in(source):
                self._remove_edge(other)
            self._kill(source)

    def _kill(self, n: int) -> None:
        self.dead_nodes.add(n)
        for e in (*self.topo.out_edges[n], *self.topo.in_edges[n]):
            self.dead_edges.add(e)

    def ending_nodes(self) -> list[int]:
        """Visited nodes without an outgoing edge, in node order: their outputs make the
        result."""
        return [
            n
            for n in range(len(self.topo.node_ids))
            if n in self.visited and n not in self.dead_nodes and not self._live_out(n)
        ]
