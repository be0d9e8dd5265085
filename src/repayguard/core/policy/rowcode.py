"""The row form compiled to one Python function per policy: the fewest operations per decision.

The function reads each input once (``inputs.get``, when its first row is reached), tests the
rows in table order with the cells written out inline and returns the outcome (``first``) or
the merged outcome of the bit mask of matching rows (``collect``). A cell is written out only
in the shapes whose closures in :mod:`rowform` are one expression -- any-cells, string sets,
boolean equality, one order test or interval on numbers -- and the text is those closures'
expressions verbatim; every other cell calls its closure. So the function decides exactly as
the closures do (the loops of ``RowEvaluator`` stay as the reference). The generated source
names constants held in the function's namespace; no policy text reaches it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from repayguard.core.policy.cells import Cell, Compare, Interval
from repayguard.core.policy.ir import PolicyIR
from repayguard.core.policy.outcome import RowDecision
from repayguard.core.policy.rowform import NUMBER_TYPES, cell_predicate, is_number, string_set
from repayguard.core.policy.semantics import number_threshold

Decide = Callable[[Mapping[str, Any]], RowDecision]
_ORDER: Final = ("<", "<=", ">", ">=")


class _Source:
    """The names a generated function reads, each bound to its constant."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_num": NUMBER_TYPES, "_slow": is_number}

    def constant(self, value: Any) -> str:
        name = f"_c{len(self.names)}"
        self.names[name] = value
        return name


def _is_number_value(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def cell_source(cell: Cell, var: str, src: _Source) -> str | None:
    """A Python expression of ``var`` equal to ``cell_predicate(cell)``; None for an any-cell."""
    if cell.is_any:
        return None
    strings = string_set(cell)
    if strings is not None:
        return f"(isinstance({var}, str) and {var} in {src.constant(strings)})"
    if len(cell.tests) == 1:
        test = cell.tests[0]
        number = f"(type({var}) in _num or _slow({var}))"
        if isinstance(test, Compare) and test.op == "==" and isinstance(test.value, bool):
            return f"({var} is {test.value})"
        if isinstance(test, Compare) and test.op in _ORDER and _is_number_value(test.value):
            t = src.constant(number_threshold(test.op, test.value))  # type: ignore[arg-type]
            return f"({number} and {var} {test.op} {t})"
        if isinstance(test, Interval) and not test.outside:
            lo_op, hi_op = (">=" if test.low_closed else ">"), ("<=" if test.high_closed else "<")
            lo = src.constant(number_threshold(lo_op, test.low))
            hi = src.constant(number_threshold(hi_op, test.high))
            return f"({number} and {var} {lo_op} {lo} and {var} {hi_op} {hi})"
    return f"{src.constant(cell_predicate(cell))}({var})"


def compile_rows(
    ir: PolicyIR, *, known: dict[int, RowDecision], merged: Callable[[int], RowDecision]
) -> Decide:
    """The decision function of ``ir`` (see the module docstring). Under ``collect``, ``known``
    holds the merged outcome of each mask seen so far and ``merged`` computes (and keeps) a new
    one."""
    src = _Source()
    read: dict[str, str] = {}
    collect = ir.hit_policy == "collect"
    body = ["get = inputs.get"]
    if collect:
        body.append("m = 0")
    for k, row in enumerate(ir.rows):
        tests = []
        for c in row.cells:
            if c.input not in read:  # read once, when the first row testing it is reached
                read[c.input] = f"v{len(read)}"
                body.append(f"{read[c.input]} = get({src.constant(c.input)})")
            found = cell_source(c.cell, read[c.input], src)
            if found is not None:
                tests.append(found)
        condition = " and ".join(tests) or "True"
        if collect:
            body.append(f"if {condition}: m |= {src.constant(1 << k)}")
        else:
            body.append(f"if {condition}: return {src.constant(row.outcome)}")
    if collect:
        body.append(f"found = {src.constant(known)}.get(m)")
        body.append(f"return {src.constant(merged)}(m) if found is None else found")
    else:
        body.append(f"return {src.constant(ir.fallback)}")
    text = "\n".join(["def decide(inputs):", *(f"    {line}" for line in body)])
    namespace = dict(src.names)
    exec(compile(text, f"<policy rows, {ir.hit_policy}>", "exec"), namespace)
    decide: Decide = namespace["decide"]
    return decide
