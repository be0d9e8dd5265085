"""Reachability checks: rows no input can match, rows shadowed under ``first``, and gaps.

All three are decided exactly over the rows' boxes (see :mod:`analysis`): a finding is reported
only when proven, and each carries an input that shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from repayguard.core.policy.analysis import (
    Box,
    box_empty,
    domain,
    example,
    intersect,
    uncovered,
)
from repayguard.core.policy.ir import PolicyIR
from repayguard.core.policy.model import Policy
from repayguard.core.policy.problems import PolicyProblem
from repayguard.core.policy.rowform import RowEvaluator


def reachability(policy: Policy, ir: PolicyIR, boxes: Sequence[Box]) -> list[PolicyProblem]:
    """Empty rows, rows shadowed by earlier rows (``first``), and gaps when there is no default
    row; inputs are taken within their declared domains (enum, minimum/maximum, nullable)."""
    problems: list[PolicyProblem] = []
    inputs = policy.inputs
    evaluator = RowEvaluator(ir)
    for k, row in enumerate(ir.rows):
        box = boxes[k]
        if box_empty(box):
            empty = sorted(name for name, values in box.items() if values.is_empty())
            problems.append(
                PolicyProblem(
                    row.id,
                    f"when.{empty[0]}",
                    f"no input can match this row: no value of {', '.join(empty)} within the "
                    f"declared range satisfies its condition(s)",
                )
            )
            continue
        if ir.hit_policy == "collect" or k == 0:
            continue
        found = uncovered(box, boxes[:k], inputs)
        if found is not None:
            continue  # reachable, or not proven unreachable within the budget (UNKNOWN)
        catchers = [ir.rows[j].id for j in range(k) if not box_empty(intersect(boxes[j], box))]
        shown = example(box, inputs)
        caught_by = ir.rows[evaluator.first_hit(shown)].id
        problems.append(
            PolicyProblem(
                row.id,
                "when",
                f"unreachable under the first hit policy: every input this row matches is "
                f"decided earlier by row(s) {catchers} (this example goes to {caught_by!r}); "
                f"move the row up or narrow the earlier rows",
                shown,
            )
        )
    if ir.default is None:
        used = {c.input for row in ir.rows for c in row.cells}
        everything = {name: domain(inputs[name]) for name in sorted(used)}
        gap = uncovered(everything, boxes, inputs)
        if isinstance(gap, dict):
            problems.append(
                PolicyProblem(
                    None,
                    "rows",
                    "gap: some inputs match no row and there is no default row; add a last row "
                    "without conditions, or cover these inputs",
                    gap,
                )
            )
    return problems
