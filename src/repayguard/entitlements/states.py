"""Method states as values: what a borrower may use, and how to compare two of them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from repayguard.core.policy.outcome import OPEN

METHODS: Final = ("auto_debit", "early_repayment", "manual")


@dataclass(frozen=True, slots=True)
class MethodStates:
    """The three method states and the manual channels a borrower may use."""

    auto_debit: str
    early_repayment: str
    manual: str
    manual_channels: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "auto_debit": self.auto_debit,
            "early_repayment": self.early_repayment,
            "manual": self.manual,
            "manual_channels": list(self.manual_channels),
        }

    def restricted(self) -> tuple[str, ...]:
        """The methods off their open state (auto-debit not optional, early or manual
        repayment not allowed), in ``METHODS`` order."""
        return tuple(method for method in METHODS if getattr(self, method) != OPEN[method])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MethodStates:
        return cls(
            data["auto_debit"],
            data["early_repayment"],
            data["manual"],
            tuple(data["manual_channels"]),
        )


def tightens(method: str, before: MethodStates, after: MethodStates) -> bool:
    """Whether moving ``method`` from ``before`` to ``after`` takes something away.

    Any move away from the open state (optional / allowed) is a restriction, and so is losing
    a manual channel; moving back to the open state is a loosening.
    """
    if method == "manual" and not set(before.manual_channels) <= set(after.manual_channels):
        return True
    old, new = getattr(before, method), getattr(after, method)
    return bool(old != new and new != OPEN[method])


def interim_states(before: MethodStates, after: MethodStates) -> MethodStates:
    """What applies during the notice period: loosened methods change now, tightened wait."""
    picked = {
        method: getattr(before if tightens(method, before, after) else after, method)
        for method in METHODS
    }
    channels = (
        before.manual_channels if tightens("manual", before, after) else after.manual_channels
    )
    return MethodStates(picked["auto_debit"], picked["early_repayment"], picked["manual"], channels)


def announce(
    before: MethodStates, after: MethodStates, *, told: datetime, notice_days: int
) -> tuple[MethodStates | None, datetime]:
    """The interim states and the effective time of a change from ``before`` to ``after``
    that the borrower is told of at ``told`` (G3): what it takes away waits ``notice_days``
    from ``told`` behind interim states (None: nothing waits), the rest applies at ``told``.

    ``told`` must be no earlier than the wall clock when the change is written
    (``entitlements.told_at``), so no restriction ever starts before its notice has run."""
    tighter = any(tightens(method, before, after) for method in METHODS)
    interim = interim_states(before, after) if tighter and notice_days else None
    if interim is None or interim == after:
        return None, told
    return interim, told + timedelta(days=notice_days)


@dataclass(frozen=True, slots=True)
class Entitlement:
    """A borrower's entitlement as the authorize path sees it."""

    borrower_id: str
    states: MethodStates
    interim: MethodStates | None
    effective_at: datetime
    expires_at: datetime | None
    review_at: datetime | None
    reasons: tuple[str, ...]
    decision_id: str
    rule_id: str
    tier: int | None
    tier_since: datetime | None

    def states_at(self, now: datetime) -> MethodStates:
        """The states in force at ``now`` (the interim ones before the notice period ends)."""
        if self.announced_at(now):
            assert self.interim is not None
            return self.interim
        return self.states

    def announced_at(self, now: datetime) -> bool:
        """Whether a change is announced and its notice period still runs at ``now`` (G3)."""
        return self.interim is not None and now < self.effective_at

    def as_payload(self) -> dict[str, Any]:
        return {
            "borrower_id": self.borrower_id,
            "states": self.states.as_dict(),
            "interim": self.interim.as_dict() if self.interim else None,
            "effective_at": self.effective_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "review_at": self.review_at.isoformat() if self.review_at else None,
            "reasons": list(self.reasons),
            "decision_id": self.decision_id,
            "rule_id": self.rule_id,
            "tier": self.tier,
            "tier_since": self.tier_since.isoformat() if self.tier_since else None,
        }

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Entitlement:
        def when(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        effective_at = when("effective_at")
        assert effective_at is not None
        return cls(
            borrower_id=data["borrower_id"],
            states=MethodStates.from_dict(data["states"]),
            interim=MethodStates.from_dict(data["interim"]) if data.get("interim") else None,
            effective_at=effective_at,
            expires_at=when("expires_at"),
            review_at=when("review_at"),
            reasons=tuple(data["reasons"]),
            decision_id=data["decision_id"],
            rule_id=data["rule_id"],
            tier=data.get("tier"),
            tier_since=when("tier_since"),
        )


@dataclass(frozen=True, slots=True)
class HeldDecision:
    """A tightening from a policy row marked ``requires_approval``, not applied: the borrower
    keeps ``before`` (set by ``base_decision_id``, None for the policy's default states)
    until a second person approves it."""

    borrower_id: str
    decision_id: str
    rule_id: str
    as_of: datetime
    states: MethodStates
    before: MethodStates
    base_decision_id: str | None
    reasons: tuple[str, ...]
    notice_days: int
    max_days: int | None
    review_after_days: int | None
    tier: int | None
    tier_since: datetime | None

    def as_payload(self) -> dict[str, Any]:
        return {
            "borrower_id": self.borrower_id,
            "decision_id": self.decision_id,
            "rule_id": self.rule_id,
            "as_of": self.as_of.isoformat(),
            "states": self.states.as_dict(),
            "before": self.before.as_dict(),
            "base_decision_id": self.base_decision_id,
            "reasons": list(self.reasons),
            "notice_days": self.notice_days,
            "max_days": self.max_days,
            "review_after_days": self.review_after_days,
            "tier": self.tier,
            "tier_since": self.tier_since.isoformat() if self.tier_since else None,
        }

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> HeldDecision:
        since = data.get("tier_since")
        return cls(
            borrower_id=data["borrower_id"],
            decision_id=data["decision_id"],
            rule_id=data["rule_id"],
            as_of=datetime.fromisoformat(data["as_of"]),
            states=MethodStates.from_dict(data["states"]),
            before=MethodStates.from_dict(data["before"]),
            base_decision_id=data.get("base_decision_id"),
            reasons=tuple(data["reasons"]),
            notice_days=int(data["notice_days"]),
            max_days=data.get("max_days"),
            review_after_days=data.get("review_after_days"),
            tier=data.get("tier"),
            tier_since=datetime.fromisoformat(since) if since else None,
        )
