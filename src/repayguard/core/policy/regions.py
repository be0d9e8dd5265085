"""Elementary regions of a decision table, and the complete G1 search for ``collect`` merges.

Each input's domain is split into *atoms*: the coarsest pieces (intervals or unions of them,
finite or co-finite string sets, booleans, null) such that every row's cell on that input
either contains a piece or misses it entirely. A row then matches a union of atoms per input,
kept as a bitmask of rows per atom, and every borrower falls into exactly one combination of
atoms (an elementary region) where the set of matching rows is fixed.

Under ``collect`` a borrower gets the intersection of the matching rows' channels, so G1 fails
exactly where the matching rows together remove every free channel. :func:`merge_violations`
walks the inputs one at a time, keeping the rows still able to match (``alive``):

- a branch where some free channel is kept by every alive row can never fail G1 (pruned);
- once all the inputs a set of alive rows test are fixed those rows surely match, so when they
  already remove every free channel the region is a counter-example whatever the rest is;
- two atoms of an input that leave the same alive rows lead to the same sub-search (memoised).

The walk is exhaustive over the regions it does not prune, so when it finishes without a
finding no borrower can be left without a free channel; if it stops at its work budget it says
so (``complete`` is False) and the caller must refuse rather than pass. Every reported region's
input is decided again by the row form, so a finding is what the compiled policy really does.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from repayguard.core.policy.analysis import Box, ValueSet, domain, present
from repayguard.core.policy.ir import PolicyIR
from repayguard.core.policy.model import InputSpec
from repayguard.core.policy.outcome import RowDecision
from repayguard.core.policy.rowform import RowEvaluator

MERGE_BUDGET: Final = 200_000
"""Search nodes (regions partly fixed) the merge search may visit before it gives up."""

USABLE_MANUAL: Final = ("allowed", "forced")


@dataclass(frozen=True, slots=True)
class Regions:
    """The atoms of each tested input (``names`` in search order) and, per atom, the bitmask of
    rows (by position among the conditional rows) whose cell on that input contains it."""

    names: tuple[str, ...]
    atoms: tuple[tuple[ValueSet, ...], ...]
    rows_in: tuple[tuple[int, ...], ...]

    def value(self, i: int, atom: int, inputs: Mapping[str, InputSpec]) -> Any:
        """A value of atom ``atom`` of input ``i`` in the input's own form."""
        name = self.names[i]
        return present(self.atoms[i][atom].sample(), inputs[name].type)


def elementary_regions(boxes: Sequence[Box], inputs: Mapping[str, InputSpec]) -> Regions:
    """Split each tested input's domain by every row's cell on it (see the module docstring).

    Inputs with fewer atoms come first: they branch less, so the search prunes earlier.
    """
    per_input: list[tuple[int, str, tuple[ValueSet, ...], tuple[int, ...]]] = []
    for name in sorted({n for box in boxes for n in box}):
        cells = list(dict.fromkeys(box[name] for box in boxes if name in box))
        # each atom with the cells (by index in ``cells``) that contain it
        atoms: list[tuple[ValueSet, frozenset[int]]] = [(domain(inputs[name]), frozenset())]
        for index, cell in enumerate(cells):
            refined = []
            for atom, inside in atoms:
                hit, miss = atom & cell, atom - cell
                if not hit.is_empty():
                    refined.append((hit, inside | {index}))
                if not miss.is_empty():
                    refined.append((miss, inside))
            atoms = refined
        atoms.sort(key=lambda pair: _atom_order(pair[0]))  # smallest first: readable examples
        position = {cell: index for index, cell in enumerate(cells)}
        rows_with = [0] * len(cells)  # the rows whose cell on this input is cells[i]
        untested = 0
        for k, box in enumerate(boxes):
            if name in box:
                rows_with[position[box[name]]] |= 1 << k
            else:
                untested |= 1 << k
        masks = []
        for _, inside in atoms:
            mask = untested
            for index in inside:
                mask |= rows_with[index]
            masks.append(mask)
        per_input.append((len(atoms), name, tuple(a for a, _ in atoms), tuple(masks)))
    per_input.sort(key=lambda entry: (entry[0], entry[1]))
    return Regions(
        names=tuple(e[1] for e in per_input),
        atoms=tuple(e[2] for e in per_input),
        rows_in=tuple(e[3] for e in per_input),
    )


def _atom_order(atom: ValueSet) -> tuple[bool, Any]:
    sample = atom.sample()
    return (sample is None, 0 if sample is None else sample)


def free_left(decision: RowDecision, free: frozenset[str]) -> frozenset[str]:
    """The free channels an outcome leaves usable (none when the manual flow is not usable)."""
    if decision.manual not in USABLE_MANUAL:
        return frozenset()
    return frozenset(decision.manual_channels) & free


@dataclass(frozen=True, slots=True)
class MergeViolation:
    """A borrower the row form decides into a G1 violation under ``collect``.

    ``rows`` are a smallest-found set of matching rows that together remove every free channel
    (positions among the conditional rows, in table order), ``matched`` every row the example
    matches, ``example`` the borrower's inputs.
    """

    rows: tuple[int, ...]
    matched: tuple[int, ...]
    example: dict[str, Any]


@dataclass(slots=True)
class MergeSearch:
    """What the search found; ``complete`` is False when it stopped at its budget."""

    violations: list[MergeViolation] = field(default_factory=list)
    complete: bool = True
    nodes: int = 0


class _OutOfBudget(Exception):
    pass


def merge_violations(
    ir: PolicyIR,
    boxes: Sequence[Box],
    free: frozenset[str],
    *,
    budget: int = MERGE_BUDGET,
    limit: int = 20,
) -> MergeSearch:
    """Every distinct way (up to ``limit``) rows matching together under ``collect`` leave no
    free manual channel, each with a borrower that shows it; complete unless out of budget."""
    result = MergeSearch()
    if not free or not ir.rows:
        return result
    regions = elementary_regions(boxes, ir.inputs)
    left = [free_left(row.outcome, free) for row in ir.rows]
    # removers[c]: the rows whose outcome does not offer free channel c
    removers = [
        sum(1 << k for k, kept in enumerate(left) if channel not in kept)
        for channel in sorted(free)
    ]
    tested = [frozenset(c.input for c in row.cells) for row in ir.rows]
    fixed_after: list[int] = []  # rows whose every tested input is among the first L names
    for depth in range(len(regions.names) + 1):
        names = set(regions.names[:depth])
        fixed_after.append(sum(1 << k for k, t in enumerate(tested) if t <= names))
    evaluator = RowEvaluator(ir)
    seen: set[tuple[int, int]] = set()
    found: set[tuple[int, ...]] = set()
    picks: list[int] = []

    def walk(depth: int, alive: int) -> None:
        if len(result.violations) >= limit:
            return
        result.nodes += 1
        if result.nodes > budget:
            raise _OutOfBudget
        if any(not alive & rows for rows in removers):
            return  # some free channel is kept by every row that can still match
        if (depth, alive) in seen:
            return
        seen.add((depth, alive))
        sure = alive & fixed_after[depth]
        if all(sure & rows for rows in removers):
            _report(depth, alive, sure)
            return
        for atom, rows in enumerate(regions.rows_in[depth]):
            picks.append(atom)
            walk(depth + 1, alive & rows)
            picks.pop()

    def _report(depth: int, alive: int, sure: int) -> None:
        # the rows that surely match already remove every free channel: name a few of them
        culprits = _smallest_cover([k for k in range(len(left)) if sure >> k & 1], left, free)
        if culprits in found:
            return  # the same clash, reached through other values of the inputs
        chosen = list(picks)
        for i in range(depth, len(regions.names)):  # the rest: match as few rows as possible
            masks = regions.rows_in[i]
            best = min(range(len(masks)), key=lambda a: ((alive & masks[a]).bit_count(), a))
            alive &= masks[best]
            chosen.append(best)
        example = {regions.names[i]: regions.value(i, a, ir.inputs) for i, a in enumerate(chosen)}
        matched = evaluator.matched(example)
        if free_left(evaluator.evaluate(example), free) or not set(culprits) <= set(matched):
            result.complete = False  # the sets and the row form disagree: claim nothing
            return
        found.add(culprits)
        result.violations.append(MergeViolation(culprits, tuple(matched), example))

    try:
        walk(0, (1 << len(ir.rows)) - 1)
    except _OutOfBudget:
        result.complete = False
    return result


def _smallest_cover(
    rows: Sequence[int], left: Sequence[frozenset[str]], free: frozenset[str]
) -> tuple[int, ...]:
    """Of ``rows``, a few that together remove every free channel (greedy: the row
    removing most of what is still offered first), in table order."""
    offered = set(free)
    chosen: list[int] = []
    while offered:
        k = max(rows, key=lambda m: (len(offered - left[m]), -m))
        if not offered - left[k]:
            break  # cannot happen for a verified violation; keep what was chosen
        chosen.append(k)
        offered &= left[k]
    return tuple(sorted(chosen))
