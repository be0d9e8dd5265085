"""What would change the outcome: the nearest less restrictive row a borrower can reach.

The search changes **actionable** inputs only (:data:`ACTIONABLE`: what a borrower moves by
repaying — days past due, failed debits, the on-time ratio, redraws, early repayments,
utilization), each only in the direction that helps them (paying lowers days past due; nobody
is told to fail more debits). Everything else stays as it is: protected or immutable
attributes and ``open_appeal`` / ``open_hardship`` (cases, not behaviour). The risk tier and
PD are never changed directly: given a :class:`RiskMove` (``core/risk_moves.py``: the model's
points and the tier bands, where the model adds up), a change of actionable inputs carries the
tier it would bring as a *derived* change; without one, or when no such change lifts it, a
restriction only a better tier lifts is reported as such (:data:`WHY_NONE` ``risk_tier``),
naming what improves a tier.

Candidates per input are the nearest value of every region the policy's cells tell apart
(values inside one region decide alike), on the helpful side of the borrower's value. Changes
of one input are tried first, then pairs, then triples...; the first size that reaches a less
restrictive outcome (one that loosens a method and tightens none, and does not just keep the
current methods) is returned, **smallest change first**: the distance of a suggestion is the
number of inputs it changes, then the sum of each change's size relative to where it starts,
``|after - before| / max(|before|, 1)``. Every suggestion was evaluated under the same compiled
policy, so applying it gives the outcome it states.

When nothing is found the result says why (:data:`WHY_NONE`): already on the least restrictive
outcome reachable, kept while a case is open, only a better risk tier would, only inputs the
borrower cannot change would, or the search budget ran out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import combinations, product
from typing import Any, Final, Protocol

from repayguard.core.policy.analysis import INF, Span, ValueSet, _norm, cell_set, domain, present
from repayguard.core.policy.compiler import CompiledPolicy
from repayguard.core.policy.inputs import json_value
from repayguard.core.policy.outcome import looser

ACTIONABLE: Final[Mapping[str, int]] = {
    "dpd_now": -1,
    "max_dpd_90d": -1,
    "failed_debits_30d": -1,
    "on_time_ratio_180d": 1,
    "redraws_after_early_30d": -1,
    "early_repayments_30d": -1,
    "utilization": -1,
}
"""Inputs a borrower moves by how they repay, and the direction that helps (-1 lower, 1 higher).
Any other policy input is held fixed."""

RISK_INPUTS: Final = frozenset({"tier", "pd"})
"""Inputs that follow the risk estimate: not directly actionable, but what lifts a tier-only
restriction; the search says so rather than suggesting them."""

BUDGET: Final = 4000
"""Policy evaluations one search may spend (a 12-input table needs a few hundred)."""

WHY_NONE: Final[Mapping[str, Mapping[str, str]]] = {
    "least_restrictive": {
        "en": "Nothing to change: no row of the policy gives you freer repayment methods "
        "from here.",
        "zh-CN": "无需改变：从目前情况看，政策中没有更宽松的还款方式安排。",
    },
    "kept": {
        "en": "Your repayment methods stay as they are while your appeal or hardship request "
        "is open; its outcome decides what happens next.",
        "zh-CN": "您的申诉或困难援助申请处理期间，还款方式保持不变；处理结果将决定后续安排。",
    },
    "risk_tier": {
        "en": "This follows your risk group, which is re-assessed regularly: paying instalments "
        "on time, clearing any overdue amount and keeping automatic debits from failing "
        "improve it.",
        "zh-CN": "该限制取决于您的风险等级，等级会定期重新评估："
        "按时还款、结清逾期款项并避免自动扣款失败可改善等级。",
    },
    "not_actionable": {
        "en": "Only a change in facts you cannot change yourself would loosen this; you may "
        "contact us or appeal if you think the decision is wrong.",
        "zh-CN": "只有您本人无法改变的情况发生变化才会放宽该限制；"
        "如您认为决定有误，可联系我们或提出申诉。",
    },
    "unavailable": {
        "en": "We cannot work out right now what would change this; please contact us.",
        "zh-CN": "我们暂时无法确定怎样可以改变这一结果，请联系我们。",
    },
    "search_budget": {
        "en": "We could not work out a simple change that would loosen this; please contact us.",
        "zh-CN": "我们未能找到可放宽该限制的简单调整，请联系我们。",
    },
}
"""Why a search found nothing: code -> locale -> text (en and zh-CN)."""


@dataclass(frozen=True, slots=True)
class RiskAfter:
    """The tier (``T1``...) and PD a borrower would be assessed at after a change."""

    tier: str
    pd: float


class RiskMove(Protocol):
    """The better tier a change of actionable inputs would bring (None: none, or unknown),
    and which values of an input lower the risk (so inputs no row tests are searched too)."""

    def risk_after(
        self, inputs: Mapping[str, Any], changed: Mapping[str, Any]
    ) -> RiskAfter | None: ...

    def values(self, name: str, value: Any, helps: int) -> list[Any]: ...


@dataclass(frozen=True, slots=True)
class Change:
    """One input moving from ``before`` to ``after``; ``derived`` changes (the tier, the PD)
    follow from the others and are not the borrower's to make."""

    input: str
    before: Any
    after: Any
    derived: bool = False

    def as_dict(self) -> dict[str, Any]:
        out = {"input": self.input, "from": json_value(self.before), "to": json_value(self.after)}
        return {**out, "derived": True} if self.derived else out


@dataclass(frozen=True, slots=True)
class Alternative:
    """Making ``changes`` (together) gives ``rule_id``'s less restrictive ``states``."""

    changes: tuple[Change, ...]
    rule_id: str
    states: dict[str, Any]
    loosens: tuple[str, ...]
    distance: float

    @property
    def inputs(self) -> tuple[str, ...]:
        """The inputs the borrower changes (derived changes left out)."""
        return tuple(c.input for c in self.changes if not c.derived)

    def applied_to(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """``inputs`` with the changes made."""
        return {**inputs, **{c.input: c.after for c in self.changes}}

    def as_dict(self) -> dict[str, Any]:
        return {
            "changes": [c.as_dict() for c in self.changes],
            "rule_id": self.rule_id,
            "states": self.states,
            "loosens": list(self.loosens),
            "distance": round(self.distance, 6),
        }


@dataclass(frozen=True, slots=True)
class Counterfactual:
    """The suggestions, smallest first; when there are none, ``why_none`` (a WHY_NONE code)."""

    alternatives: tuple[Alternative, ...]
    why_none: str | None

    def why_text(self, locale: str) -> str | None:
        return WHY_NONE[self.why_none][locale] if self.why_none else None


def changes_of(entry: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The changes of a stored suggestion (``{"changes": [...]}``; explanations stored before
    multi-input suggestions held one ``input``/``from``/``to``)."""
    if "changes" in entry:
        return list(entry["changes"])
    return [{"input": entry.get("input"), "from": entry.get("from"), "to": entry.get("to")}]


def search(
    compiled: CompiledPolicy,
    inputs: Mapping[str, Any],
    states: Mapping[str, Any],
    *,
    decided_keep: bool = False,
    risk: RiskMove | None = None,
    budget: int = BUDGET,
) -> Counterfactual:
    """What would loosen ``states`` (the methods applied to ``inputs``), see the module doc.

    ``decided_keep`` says the deciding row kept the current methods (an open case); ``risk``
    models the tier a change brings (None: the tier stays as it is).
    """
    if decided_keep:
        return Counterfactual((), "kept")
    if compiled.hit_policy != "collect" and not _any_looser_row(compiled, states):
        return Counterfactual((), "least_restrictive")
    used = compiled.inputs_used
    moved = [n for n in compiled.policy.inputs if n not in used and risk is not None]
    actionable = [n for n in (*used, *moved) if n in ACTIONABLE and _numeric(inputs.get(n))]
    found, spent = _search(compiled, inputs, states, actionable, budget, risk=risk)
    if found:
        return Counterfactual(tuple(found), None)
    if spent >= budget:
        return Counterfactual((), "search_budget")
    with_tier = [*actionable, *(n for n in used if n in RISK_INPUTS)]
    if len(with_tier) > len(actionable) and _search(compiled, inputs, states, with_tier, budget)[0]:
        return Counterfactual((), "risk_tier")
    others = [n for n in used if n not in with_tier]
    if others and _search(compiled, inputs, states, [*with_tier, *others], budget)[0]:
        return Counterfactual((), "not_actionable")
    return Counterfactual((), "least_restrictive")


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _any_looser_row(compiled: CompiledPolicy, states: Mapping[str, Any]) -> bool:
    outcomes = [r.outcome for r in compiled.ir.rows]
    outcomes += [o for o in (compiled.ir.default, compiled.ir.fallback) if o is not None]
    return any(not o.keep and looser(o.states(), states) for o in outcomes)


def _search(
    compiled: CompiledPolicy,
    inputs: Mapping[str, Any],
    states: Mapping[str, Any],
    names: Sequence[str],
    budget: int,
    *,
    risk: RiskMove | None = None,
) -> tuple[list[Alternative], int]:
    """Suggestions over ``names`` (fewest inputs first; the first size that finds any), and the
    evaluations spent. Actionable inputs move only to the side :data:`ACTIONABLE` allows."""
    candidates = {n: _candidates(compiled, n, inputs.get(n), risk) for n in names}
    movable = [n for n in names if candidates[n]]
    spent = 0
    for size in range(1, len(movable) + 1):
        best: dict[tuple[str, ...], Alternative] = {}
        for chosen in combinations(movable, size):
            for values in product(*(candidates[n] for n in chosen)):
                spent += 1
                if spent > budget:
                    return _ranked(best), budget
                alt = _try(compiled, inputs, states, dict(zip(chosen, values, strict=True)), risk)
                if alt is not None and (chosen not in best or alt.distance < best[chosen].distance):
                    best[chosen] = alt
        if best:
            return _ranked(best), spent
    return [], spent


def _ranked(best: Mapping[tuple[str, ...], Alternative]) -> list[Alternative]:
    return sorted(best.values(), key=lambda a: (a.distance, a.inputs))


def _try(
    compiled: CompiledPolicy,
    inputs: Mapping[str, Any],
    states: Mapping[str, Any],
    changed: Mapping[str, Any],
    risk: RiskMove | None,
) -> Alternative | None:
    evaluated = {**inputs, **changed}
    derived: list[Change] = []
    moved = risk.risk_after(inputs, changed) if risk is not None else None
    if moved is not None and "tier" in compiled.policy.inputs:
        derived.append(Change("tier", inputs.get("tier"), moved.tier, derived=True))
        if "pd" in compiled.policy.inputs:
            derived.append(Change("pd", inputs.get("pd"), round(moved.pd, 6), derived=True))
        evaluated.update({c.input: c.after for c in derived})
    decision = compiled.evaluate_row(evaluated)
    if decision.keep or not looser(decision.states(), states):
        return None
    after = decision.states()
    loosened = tuple(
        m
        for m in ("auto_debit", "early_repayment", "manual")
        if after[m] != states[m]
        or (m == "manual" and set(after["manual_channels"]) != set(states["manual_channels"]))
    )
    own = tuple(Change(n, inputs.get(n), v) for n, v in changed.items())
    distance = sum(_size(c.before, c.after) for c in own)
    return Alternative((*own, *derived), decision.rule_id, after, loosened, distance)


def _size(before: Any, after: Any) -> float:
    """How big one change is: relative to where it starts for numbers, 1 for anything else."""
    if _numeric(before) and _numeric(after):
        return float(abs(after - before) / max(abs(before), 1.0))
    if isinstance(before, date) and isinstance(after, date):
        return abs((after - before).days) / 365.0
    return 1.0


def _candidates(
    compiled: CompiledPolicy, name: str, value: Any, risk: RiskMove | None = None
) -> list[Any]:
    """The nearest value of each region of ``name`` other than ``value``'s own (for an
    actionable input, on the side that helps the borrower only), then the values that lower
    the model's risk (``risk``), nearest first."""
    spec = compiled.policy.inputs[name]
    out: list[Any] = []
    if risk is not None and name in ACTIONABLE and _numeric(value):
        out += [v for v in risk.values(name, value, ACTIONABLE[name]) if v != value]
    if name not in compiled.inputs_used:
        return out
    for region in regions(compiled, name):
        region = replace(region, null=False)
        if name in ACTIONABLE and _numeric(value) and region.kind == "number":
            x = float(value)
            side = Span(-INF, False, x, True) if ACTIONABLE[name] < 0 else Span(x, True, INF, False)
            region = region & replace(region, spans=_norm([side], region.integer))
        if region.is_empty():
            continue
        point = nearest(region, value, spec.type)
        if point is not None and point != value and point not in out:
            out.append(point)
    return out


def regions(compiled: CompiledPolicy, name: str) -> tuple[ValueSet, ...]:
    """The values of one input that the policy's cells tell apart, as disjoint regions
    (computed once per compiled policy: every explanation searches them)."""
    key = ("regions", name)
    found: tuple[ValueSet, ...] | None = compiled.memo.get(key)
    if found is None:
        found = compiled.memo[key] = tuple(_regions(compiled, name))
    return found


def _regions(compiled: CompiledPolicy, name: str) -> list[ValueSet]:
    spec = compiled.policy.inputs[name]
    parts = [domain(spec)]
    for row in compiled.ir.rows:
        for c in row.cells:
            if c.input != name:
                continue
            matched = cell_set(c.cell, spec)
            split = []
            for region in parts:
                split += [p for p in (region & matched, region - matched) if not p.is_empty()]
            parts = split
    return parts


def nearest(region: ValueSet, value: Any, input_type: str) -> Any:
    """The value of ``region`` closest to ``value`` (a non-null one), or None if only null."""
    if region.kind != "number" or not region.spans:
        return present(region.sample(), input_type) if not region.is_empty() else None
    if value is None or isinstance(value, bool):
        return present(region.sample(), input_type)
    x = float(value.toordinal()) if isinstance(value, date) else float(value)
    best: float | None = None
    for span in region.spans:
        if (
            span.lo <= x <= span.hi
            and (x != span.lo or span.lo_closed)
            and (x != span.hi or span.hi_closed)
        ):
            return value
        if x < span.lo:
            point = span.lo if span.lo_closed else _inside_near(span.lo, span.hi, up=True)
        else:
            point = span.hi if span.hi_closed else _inside_near(span.hi, span.lo, up=False)
        if best is None or abs(point - x) < abs(best - x):
            best = point
    return present(best, input_type)


def _inside_near(bound: float, other: float, *, up: bool) -> float:
    """A point just inside an open bound: one unit for whole bounds, else the next decimal."""
    text = f"{bound:.10g}"
    decimals = len(text.split(".")[1]) if "." in text else -1
    step = 1.0 if decimals < 0 else 10.0 ** -(decimals + 1)
    point = bound + step if up else bound - step
    within = point < other if up else point > other
    if other in (INF, -INF) or within:
        return point
    return (bound + other) / 2
