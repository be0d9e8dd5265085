"""Timed transitions of entitlements, run by the scheduler inside its own transactions:
a restriction becomes active when its notice period is over (G3); one past its expiry lapses
to the policy's default states, and one a review confirmed gets its next review date (G4).

Every write is a compare-and-set on the deciding decision and rule, so a decision or override
written meanwhile is never overwritten. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.orm import Session

from repayguard.entitlements import repository
from repayguard.entitlements.messages import EntitlementsActivated, EntitlementsChanged
from repayguard.entitlements.service import CHANGES_PER_MESSAGE
from repayguard.entitlements.states import Entitlement, MethodStates
from repayguard.platform.messages import Message

EXPIRY_RULE: Final = "expiry"
"""The ``rule_id`` of an entitlement a restriction's expiry restored to the default states."""
RESTRICTION_EXPIRED: Final = "RESTRICTION_EXPIRED"


def pending_due(session: Session, *, now: datetime, limit: int) -> list[Entitlement]:
    """Entitlements whose notice period ended by ``now`` and are not yet marked active."""
    return repository.pending_due(session, now=now, limit=limit)


def activate(
    session: Session, pending: Sequence[Entitlement], *, now: datetime
) -> list[Entitlement]:
    """Mark restrictions active: drop their interim states. Returns those marked, as they were
    (with their interim states, so a notice can tell what changed); one changed meanwhile is
    skipped."""
    done: list[Entitlement] = []
    for entitlement in pending:
        if repository.update_if_unchanged(
            session,
            entitlement.borrower_id,
            decision_id=entitlement.decision_id,
            rule_id=entitlement.rule_id,
            values={"interim": None, "updated_at": now},
        ):
            done.append(entitlement)
    return done


def activation_messages(
    activated: Sequence[Entitlement], *, at: datetime
) -> Iterator[Message[EntitlementsActivated]]:
    """``repayguard.entitlements.activated``: the entitlements as they were pending, chunked."""
    for start in range(0, len(activated), CHANGES_PER_MESSAGE):
        chunk = activated[start : start + CHANGES_PER_MESSAGE]
        yield Message(EntitlementsActivated(activated_at=at, entitlements=tuple(chunk)))


def review_due(session: Session, *, now: datetime, limit: int) -> list[Entitlement]:
    """Entitlements whose review date or expiry has come by ``now``."""
    return repository.review_due(session, now=now, limit=limit)


def lapse(
    session: Session, expired: Sequence[Entitlement], *, defaults: MethodStates, now: datetime
) -> list[Entitlement]:
    """Restore expired restrictions to the policy's default states, at once, with the reason
    ``RESTRICTION_EXPIRED``; the decision that set them stays named (lineage). Returns the new
    entitlements of those restored."""
    restored: list[Entitlement] = []
    for entitlement in expired:
        after = replace(
            entitlement,
            states=defaults,
            interim=None,
            effective_at=now,
            expires_at=None,
            review_at=None,
            reasons=(RESTRICTION_EXPIRED,),
            rule_id=EXPIRY_RULE,
        )
        if repository.update_if_unchanged(
            session,
            entitlement.borrower_id,
            decision_id=entitlement.decision_id,
            rule_id=entitlement.rule_id,
            values={
                **defaults.as_dict(),
                "interim": None,
                "effective_at": now,
                "expires_at": None,
                "review_at": None,
                "reasons": [RESTRICTION_EXPIRED],
                "rule_id": EXPIRY_RULE,
                "updated_at": now,
            },
        ):
            restored.append(after)
    return restored


def reschedule_review(
    session: Session, entitlement: Entitlement, *, review_at: datetime | None, now: datetime
) -> Entitlement | None:
    """Set the next review date of an entitlement a review confirmed; None if it changed
    meanwhile."""
    if not repository.update_if_unchanged(
        session,
        entitlement.borrower_id,
        decision_id=entitlement.decision_id,
        rule_id=entitlement.rule_id,
        values={"review_at": review_at, "updated_at": now},
    ):
        return None
    return replace(entitlement, review_at=review_at)


def defer(
    session: Session, entitlement: Entitlement, *, by: timedelta, now: datetime
) -> Entitlement | None:
    """Move a restriction's start ``by`` later, keeping its whole notice period when the
    advance notice is written after the entitlement (G3: the period runs from when the borrower
    is told). The expiry and review date move with it. None if the entitlement changed
    meanwhile (compare-and-set)."""
    later = replace(
        entitlement,
        effective_at=entitlement.effective_at + by,
        expires_at=entitlement.expires_at + by if entitlement.expires_at else None,
        review_at=entitlement.review_at + by if entitlement.review_at else None,
    )
    if not repository.update_if_unchanged(
        session,
        entitlement.borrower_id,
        decision_id=entitlement.decision_id,
        rule_id=entitlement.rule_id,
        values={
            "effective_at": later.effective_at,
            "expires_at": later.expires_at,
            "review_at": later.review_at,
            "updated_at": now,
        },
    ):
        return None
    return later


def change_message(reason: str, changed: Sequence[Entitlement]) -> Message[EntitlementsChanged]:
    """One ``repayguard.entitlements.changed`` message for timed changes (``reason``: what
    caused them, e.g. ``expiry`` or ``review``)."""
    return Message(EntitlementsChanged(cause=reason, entitlements=tuple(changed)))
