"""The messages entitlements emit: entitlements changed, activated or overridden, and the
decisions held for approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from repayguard.entitlements.states import Entitlement, HeldDecision
from repayguard.platform.messages import Fact, JSONValue, omitted_when_none


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitlementsChanged(Fact):
    """New entitlements (a chunk of a run, an approved change, a timed change). The authorize
    view of every process applies them; notices announce them.

    Which optional key it has says what caused it: a decision run (``run_id``), an approval
    (``approval_id``), or a timed change (``cause``: expiry, review). ``told_at`` is the moment
    the notice periods were counted from, so notices keep the whole period when they write the
    advance notice later (absent on timed changes, which announce nothing)."""

    NAME = "repayguard.entitlements.changed"

    entitlements: tuple[Entitlement, ...]
    run_id: str | None = omitted_when_none()
    approval_id: str | None = omitted_when_none()
    cause: str | None = omitted_when_none()
    told_at: datetime | None = omitted_when_none()


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitlementsActivated(Fact):
    """Notice periods ended: these entitlements (as they were pending) are now in force."""

    NAME = "repayguard.entitlements.activated"

    activated_at: datetime
    entitlements: tuple[Entitlement, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class EntitlementOverridden(Fact):
    """An approved manual override set a borrower's states for a while."""

    NAME = "repayguard.entitlements.overridden"

    borrower_id: str
    approval_id: str
    states: dict[str, JSONValue]
    reasons: tuple[str, ...]
    requested_by: str
    approved_by: str
    effective_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionsHeld(Fact):
    """Decisions of a run waiting for approval (approvals makes one request per borrower)."""

    NAME = "repayguard.decisions.held"

    run_id: str
    decisions: tuple[HeldDecision, ...]


ENTITLEMENTS_CHANGED: Final = EntitlementsChanged.NAME
ENTITLEMENTS_ACTIVATED: Final = EntitlementsActivated.NAME
ENTITLEMENT_OVERRIDDEN: Final = EntitlementOverridden.NAME
DECISIONS_HELD: Final = DecisionsHeld.NAME
TOLD_AT: Final = "told_at"
"""The key of ``repayguard.entitlements.changed`` naming the moment the notice periods of its
entitlements were counted from (absent: messages of timed changes, which announce nothing)."""
