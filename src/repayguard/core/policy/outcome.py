"""Decision outcomes: one row's outputs, the ``collect`` merge, and how restrictive a state is.

Restrictiveness orders each method's states from the open state up: auto-debit
``optional < disabled < mandatory`` (mandatory takes the borrower's choice away entirely;
disabled removes a convenience but leaves every payment in the borrower's hands), early
repayment ``allowed < restricted``, manual ``allowed < forced``; for channels, fewer is more
restrictive. The ``collect`` merge of several matching rows takes, per method, the most
restrictive state; channels are the intersection (in the first row's order), reasons the union
in row order, notice the longest, expiry and review the earliest of those set, approval if any
row asks for it, and ``keep`` if any matching row keeps the current methods.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

METHODS: Final = ("auto_debit", "early_repayment", "manual")
RANK: Final[Mapping[str, Mapping[str, int]]] = {
    "auto_debit": {"optional": 0, "disabled": 1, "mandatory": 2},
    "early_repayment": {"allowed": 0, "restricted": 1},
    "manual": {"allowed": 0, "forced": 1},
}
OPEN: Final[Mapping[str, str]] = {
    "auto_debit": "optional",
    "early_repayment": "allowed",
    "manual": "allowed",
}
NO_MATCH: Final = "(no-match)"
"""``rule_id`` of a decision no row gave (an input outside the checked domain): the safe default
applies and the runtime guardrail records it."""

Direction = Literal["tighten", "loosen"]


@dataclass(frozen=True, slots=True)
class RowDecision:
    """The outputs that decide one borrower: one row's (``first``) or a merge (``collect``).

    ``rule_id`` is the deciding row (the first matching one under ``collect``), ``rule_ids``
    every matching row in table order; ``keep`` asks to keep the current methods.
    """

    rule_id: str
    auto_debit: str
    early_repayment: str
    manual: str
    manual_channels: tuple[str, ...]
    reasons: tuple[str, ...]
    requires_approval: bool
    notice_days: int
    max_days: int | None
    review_after_days: int | None
    keep: bool
    rule_ids: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready outputs (lists for the channel and reason tuples)."""
        return {
            "rule_id": self.rule_id,
            "rule_ids": list(self.rule_ids),
            "auto_debit": self.auto_debit,
            "early_repayment": self.early_repayment,
            "manual": self.manual,
            "manual_channels": list(self.manual_channels),
            "reasons": list(self.reasons),
            "requires_approval": self.requires_approval,
            "notice_days": self.notice_days,
            "max_days": self.max_days,
            "review_after_days": self.review_after_days,
            "keep": self.keep,
        }

    def states(self) -> dict[str, Any]:
        """The method states alone (what the borrower may use)."""
        return {
            "auto_debit": self.auto_debit,
            "early_repayment": self.early_repayment,
            "manual": self.manual,
            "manual_channels": list(self.manual_channels),
        }


def merge(decisions: Sequence[RowDecision]) -> RowDecision:
    """The ``collect`` merge of the matching rows' outcomes, in table order (at least one)."""
    if not decisions:
        raise ValueError("merge needs at least one matching row")
    if len(decisions) == 1:
        return decisions[0]
    first = decisions[0]
    picked = {m: max((getattr(d, m) for d in decisions), key=RANK[m].__getitem__) for m in METHODS}
    common = set(first.manual_channels)
    for d in decisions[1:]:
        common &= set(d.manual_channels)
    reasons = tuple(dict.fromkeys(code for d in decisions for code in d.reasons))
    return RowDecision(
        rule_id=first.rule_id,
        auto_debit=picked["auto_debit"],
        early_repayment=picked["early_repayment"],
        manual=picked["manual"],
        manual_channels=tuple(c for c in first.manual_channels if c in common),
        reasons=reasons,
        requires_approval=any(d.requires_approval for d in decisions),
        notice_days=max(d.notice_days for d in decisions),
        max_days=_min_set(d.max_days for d in decisions),
        review_after_days=_min_set(d.review_after_days for d in decisions),
        keep=any(d.keep for d in decisions),
        rule_ids=tuple(rid for d in decisions for rid in d.rule_ids),
    )


def _min_set(values: Iterable[int | None]) -> int | None:
    present = [v for v in values if v is not None]
    return min(present) if present else None


def no_match(fallback: RowDecision) -> RowDecision:
    """The decision for inputs no row matches: the fallback's states, flagged as no match."""
    return replace(fallback, rule_id=NO_MATCH, rule_ids=(), reasons=(), keep=False)


def direction(method: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> Direction | None:
    """Whether ``method`` tightens, loosens or stays from ``before`` to ``after`` (state maps
    with ``auto_debit``, ``early_repayment``, ``manual``, ``manual_channels``).

    For manual repayment, losing a channel tightens even if another is gained (the borrower may
    depend on the lost one); gaining channels alone loosens.
    """
    old, new = RANK[method][before[method]], RANK[method][after[method]]
    if method == "manual":
        lost = not set(before["manual_channels"]) <= set(after["manual_channels"])
        gained = not set(after["manual_channels"]) <= set(before["manual_channels"])
        if new > old or lost:
            return "tighten"
        if new < old or gained:
            return "loosen"
        return None
    if new > old:
        return "tighten"
    if new < old:
        return "loosen"
    return None


def changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Direction]:
    """Each method that changes from ``before`` to ``after``, with its direction."""
    out: dict[str, Direction] = {}
    for method in METHODS:
        moved = direction(method, before, after)
        if moved is not None:
            out[method] = moved
    return out


def looser(candidate: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """True when ``candidate`` loosens at least one method and tightens none."""
    moves = changes(current, candidate).values()
    return "loosen" in moves and "tighten" not in moves


def restricts(states: Mapping[str, Any], channels: Iterable[str]) -> bool:
    """Whether the states restrict anything: a method off its open state, or a channel of
    ``channels`` (the unrestricted offer) missing."""
    if any(states[m] != OPEN[m] for m in METHODS):
        return True
    return not set(channels) <= set(states["manual_channels"])
