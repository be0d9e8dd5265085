"""Which notice a change of entitlement calls for: pure rules over what the borrower had before
and what the new entitlement says (G3 advance notice, G4 restoration, G6 explanation).

Rules, for a borrower whose entitlement changed (``previous``: the last one notices saw, or the
policy's default states for a borrower never restricted; ``now``: when the change is handled):

- something is taken away and the notice period is still running -> **advance** notice, dated
  when it takes effect (the explanation follows when the scheduler activates it); the same
  change decided again during its notice period is not announced twice;
- something is taken away and it is in force already -> **explanation**;
- nothing is taken away but something comes back -> **restoration**;
- the states in force stay, but a change announced earlier will no longer happen ->
  **withdrawal**;
- a restriction stays as it is but another policy row now sets it -> **explanation** (its
  reasons are new);
- otherwise (tier, dates, or the model's secondary reasons) no notice.

A restriction becoming active at the end of its notice period calls for an **explanation**.

The notice period runs from when the borrower is told (G3): an advance notice written after
the moment the period was counted from (``announced_late``) defers the restriction by the delay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from repayguard.core.policy.outcome import OPEN
from repayguard.entitlements import METHODS, Entitlement, MethodStates, tightens


class NoticeKind(StrEnum):
    """Every kind of notice; each has a template ``<locale>/<kind>.txt.j2``."""

    ADVANCE = "advance"
    EXPLANATION = "explanation"
    RESTORATION = "restoration"
    WITHDRAWAL = "withdrawal"
    COMPLAINT_RECEIVED = "complaint_received"
    COMPLAINT_RESOLVED = "complaint_resolved"
    HARDSHIP_OPENED = "hardship_opened"
    HARDSHIP_CLOSED = "hardship_closed"
    REMEDY_APOLOGY = "remedy_apology"


OCCASION_KINDS: Final = frozenset(
    {
        NoticeKind.COMPLAINT_RECEIVED,
        NoticeKind.COMPLAINT_RESOLVED,
        NoticeKind.HARDSHIP_OPENED,
        NoticeKind.HARDSHIP_CLOSED,
        NoticeKind.REMEDY_APOLOGY,
    }
)
"""Kinds written for an occasion other than a change of methods (``record_notice``); the rules
above never plan them."""


@dataclass(frozen=True, slots=True)
class MethodChange:
    """One method (or the manual channel list) moving from ``before`` to ``after``;
    ``tightens``: the move takes something away."""

    method: str
    before: str | tuple[str, ...]
    after: str | tuple[str, ...]
    tightens: bool

    def as_dict(self) -> dict[str, Any]:
        def plain(value: str | tuple[str, ...]) -> str | list[str]:
            return list(value) if isinstance(value, tuple) else value

        return {
            "method": self.method,
            "before": plain(self.before),
            "after": plain(self.after),
            "tightens": self.tightens,
        }


@dataclass(frozen=True, slots=True)
class NoticePlan:
    """A notice to write: its kind, the entitlement it is about, and what changes."""

    kind: NoticeKind
    entitlement: Entitlement
    changes: tuple[MethodChange, ...]
    effective_at: datetime | None
    """Advance: when the restriction takes effect; withdrawal: when it would have."""

    @property
    def borrower_id(self) -> str:
        return self.entitlement.borrower_id

    @property
    def still_restricted(self) -> bool:
        """Whether the entitlement keeps any method off its open state (then the notice says
        what would change the outcome)."""
        return bool(self.entitlement.states.restricted())


def method_changes(before: MethodStates, after: MethodStates) -> tuple[MethodChange, ...]:
    """Every method state, and the channel list, that differs from ``before`` to ``after``."""
    found: list[MethodChange] = []
    for method in METHODS:
        old, new = getattr(before, method), getattr(after, method)
        if old != new:
            found.append(MethodChange(method, old, new, new != OPEN[method]))
    if set(before.manual_channels) != set(after.manual_channels):
        lost = not set(before.manual_channels) <= set(after.manual_channels)
        found.append(
            MethodChange("manual_channels", before.manual_channels, after.manual_channels, lost)
        )
    return tuple(found)


def plan_change(
    previous: Entitlement | None,
    current: Entitlement,
    *,
    defaults: MethodStates,
    now: datetime,
) -> NoticePlan | None:
    """The notice (if any) for ``current`` replacing ``previous`` (see the module rules)."""
    in_force = previous.states_at(now) if previous is not None else defaults
    target = current.states
    announced = previous is not None and previous.announced_at(now)
    if any(tightens(method, in_force, target) for method in METHODS):
        changes = method_changes(in_force, target)
        if current.announced_at(now):
            if announced and same_announcement(previous, current):
                return None
            return NoticePlan(NoticeKind.ADVANCE, current, changes, current.effective_at)
        return NoticePlan(NoticeKind.EXPLANATION, current, changes, None)
    if target != in_force:
        return NoticePlan(NoticeKind.RESTORATION, current, method_changes(in_force, target), None)
    if previous is None:
        return None
    if announced and previous.states != target:
        withdrawn = method_changes(in_force, previous.states)
        return NoticePlan(NoticeKind.WITHDRAWAL, current, withdrawn, previous.effective_at)
    if target.restricted() and current.rule_id != previous.rule_id:
        return NoticePlan(NoticeKind.EXPLANATION, current, (), None)
    return None


def same_announcement(previous: Entitlement | None, current: Entitlement) -> bool:
    """Whether ``current`` announces what ``previous`` already did: the same change, by the
    same rule, taking effect at the same time (decided again with other secondary reasons)."""
    return (
        previous is not None
        and previous.states == current.states
        and previous.effective_at == current.effective_at
        and previous.rule_id == current.rule_id
    )


def announced_late(
    before: Entitlement | None, entitlement: Entitlement, *, told_at: datetime | None, now: datetime
) -> bool:
    """Whether ``entitlement`` starts a notice period (counted from ``told_at``) that this
    advance notice, written at ``now``, would cut short: a new announcement (not the same
    change already announced) of a restriction still pending at ``told_at``."""
    return (
        told_at is not None
        and now > told_at
        and entitlement.interim is not None
        and entitlement.effective_at > told_at
        and not same_announcement(before, entitlement)
    )


def plan_activation(pending: Entitlement) -> NoticePlan | None:
    """The explanation due when ``pending``'s notice period is over: its interim states give way
    to the decided ones. None when that takes nothing away (nothing to explain)."""
    if pending.interim is None:
        return None
    changes = method_changes(pending.interim, pending.states)
    if not any(change.tightens for change in changes):
        return None
    return NoticePlan(NoticeKind.EXPLANATION, replace(pending, interim=None), changes, None)
