"""Guardrails: compliance rules that hold by construction, checked statically and at runtime.

G1 -- a borrower always keeps at least one usable, free manual repayment channel. Statically,
every row's effective outputs (after falling back to the default row) must list a channel the
policy declares ``free``; a violation names the row and an input that reaches it. At runtime,
:func:`enforce` replaces any decision that still violates G1 (an override, a kept entitlement
from an older policy) with the default row's methods and records what it did. The static check
also refuses cells that reference undeclared inputs or do not fit the input's type.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, Final

import polars as pl

from repayguard.core.policy.cells import (
    Cell,
    CellSyntaxError,
    Compare,
    Interval,
    Scalar,
    literal_type,
    parse_cell,
)
from repayguard.core.policy.compiler import CompiledPolicy, Predicate, cell_predicate
from repayguard.core.policy.model import InputSpec, Methods, Policy
from repayguard.core.policy.problems import PolicyInvalid, PolicyProblem

USABLE_MANUAL: Final = ("allowed", "forced")
_SEARCH_LIMIT: Final = 5000


def check_policy(policy: Policy) -> list[PolicyProblem]:
    """Static checks of the cells and guardrail G1 over every row; empty when all hold."""
    problems: list[PolicyProblem] = []
    parsed: list[dict[str, Cell | None]] = []
    for row in policy.rows:
        cells: dict[str, Cell | None] = {}
        for name, text in row.when.items():
            cells[name] = _checked_cell(row.id, name, text, policy.inputs.get(name), problems)
        parsed.append(cells)
    free = policy.free_channels
    for index, row in enumerate(policy.rows):
        if row.keep and index < len(policy.rows) - 1:
            continue  # without current methods a keep row gives the default's, checked below
        methods = policy.methods(row)
        if _g1_holds(methods, free):
            continue
        example = _counter_example(policy, parsed, index)
        problems.append(
            PolicyProblem(
                row.id,
                "then.manual_channels",
                f"G1: a borrower reaching this row would have no free manual repayment channel "
                f"(manual={methods.manual}, channels={list(methods.manual_channels)}; free "
                f"channels are {sorted(free)})",
                example,
            )
        )
    return problems


def _g1_holds(methods: Methods, free: frozenset[str]) -> bool:
    return methods.manual in USABLE_MANUAL and any(c in free for c in methods.manual_channels)


def _checked_cell(
    row_id: str,
    name: str,
    text: str,
    spec: InputSpec | None,
    problems: list[PolicyProblem],
) -> Cell | None:
    where = f"when.{name}"
    try:
        cell = parse_cell(text)
    except CellSyntaxError as exc:
        problems.append(PolicyProblem(row_id, where, str(exc)))
        return None
    if spec is None:
        problems.append(PolicyProblem(row_id, where, f"unknown input {name!r}; declare it"))
        return None
    kinds = {literal_type(v) for v in cell.literals()} - {"null"}
    wrong = sorted(kinds - {spec.type})
    if wrong or (cell.uses_ordering() and spec.type != "number"):
        what = f"{', '.join(wrong)} value(s)" if wrong else "an order comparison"
        problems.append(
            PolicyProblem(row_id, where, f"{what} in a cell of the {spec.type} input {name!r}")
        )
        return None
    if spec.enum is not None:
        outside = [v for v in cell.literals() if isinstance(v, str) and v not in spec.enum]
        if outside:
            problems.append(
                PolicyProblem(row_id, where, f"{outside} not among {list(spec.enum)} of {name!r}")
            )
            return None
    return cell


def _candidates(
    policy: Policy, parsed: Sequence[Mapping[str, Cell | None]], name: str
) -> list[Scalar]:
    """Values worth trying for one input: each literal, just around it, and null last."""
    spec = policy.inputs[name]
    values: list[Scalar] = []
    if spec.type == "boolean":
        values = [True, False]
    elif spec.type == "string":
        values = list(spec.enum or ())
        for cells in parsed:
            cell = cells.get(name)
            values += [v for v in cell.literals() if isinstance(v, str)] if cell else []
        if spec.enum is None:
            values.append("other")
    else:
        values = [0.0]
        for cells in parsed:
            cell = cells.get(name)
            for test in cell.alternatives if cell else ():
                if isinstance(test, Interval):
                    mid = (test.low + test.high) / 2
                    values += [mid, test.low, test.high, test.low - 1, test.high + 1]
                elif isinstance(test, Compare) and isinstance(test.value, float):
                    x = test.value
                    values += [x, x - 1, x + 1, x - 0.5, x + 0.5]
    values.append(None)
    return list(dict.fromkeys(values))


def _counter_example(
    policy: Policy, parsed: Sequence[Mapping[str, Cell | None]], target: int
) -> dict[str, Any] | None:
    """An input that reaches row ``target`` under first-hit, or failing that, one that at least
    satisfies the row's own cells; None when the row's cells do not parse."""
    own = parsed[target]
    if any(cell is None for cell in own.values()):
        return None
    names = sorted({n for cells in parsed[: target + 1] for n in cells if n in policy.inputs})
    preds: list[list[tuple[str, Predicate]]] = [
        [(n, cell_predicate(c) if c else _never) for n, c in cells.items() if n in policy.inputs]
        for cells in parsed[:target]
    ]
    options = []
    for name in names:
        values = _candidates(policy, parsed, name)
        cell = own.get(name)
        if cell is not None:
            match = cell_predicate(cell)
            values = [v for v in values if match(v)]
        options.append(values or [None])
    for combo in itertools.islice(itertools.product(*options), _SEARCH_LIMIT):
        example = dict(zip(names, combo, strict=True))
        if not any(all(p(example.get(n)) for n, p in row) for row in preds):
            return example
    return {n: opts[0] for n, opts in zip(names, options, strict=True) if n in own}


def _never(_: Any) -> bool:
    return False


def enforce(decisions: pl.DataFrame, policy: Policy | CompiledPolicy) -> pl.DataFrame:
    """Apply G1 at runtime: any decision without a usable free manual channel gets the default
    row's methods; the ``guardrail`` column says what was adjusted (null when nothing).

    ``decisions`` needs ``auto_debit``, ``early_repayment``, ``manual``, ``manual_channels``;
    other columns pass through unchanged and the row order is kept.
    """
    doc = policy.policy if isinstance(policy, CompiledPolicy) else policy
    free = sorted(doc.free_channels)
    if not free:
        raise PolicyInvalid([PolicyProblem(None, "channels", "G1: no channel is declared free")])
    fallback = doc.methods(doc.default_row)
    channels = list(fallback.manual_channels)
    if not any(c in free for c in channels):
        channels += free
    manual = fallback.manual if fallback.manual in USABLE_MANUAL else "allowed"
    has_free = (
        pl.col("manual_channels").list.eval(pl.element().is_in(free)).list.any().fill_null(False)
    )
    ok = has_free & pl.col("manual").is_in(list(USABLE_MANUAL)).fill_null(False)
    replaced = {
        "auto_debit": pl.lit(fallback.auto_debit, pl.String),
        "early_repayment": pl.lit(fallback.early_repayment, pl.String),
        "manual": pl.lit(manual, pl.String),
        "manual_channels": pl.lit(channels, pl.List(pl.String)),
    }
    note = "G1: no usable free manual channel (manual={}, channels={}); default-row methods applied"
    return decisions.with_columns(
        *(pl.when(ok).then(pl.col(k)).otherwise(v).alias(k) for k, v in replaced.items()),
        pl.when(ok)
        .then(pl.lit(None, pl.String))
        .otherwise(
            pl.format(
                note,
                pl.col("manual").fill_null("null"),
                pl.col("manual_channels").list.join(",").fill_null("null"),
            )
        )
        .alias("guardrail"),
    )
