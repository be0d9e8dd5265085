"""Entitlement changes a second person approved: manual overrides and released held decisions.

Both run inside the caller's open unit of work (approvals applies an approved request and
records its outcome in one transaction) and emit ``repayguard.entitlements.changed`` with the
new entitlement, so the in-memory view and notices follow. Neither commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from repayguard.entitlements import repository
from repayguard.entitlements.messages import EntitlementOverridden, EntitlementsChanged
from repayguard.entitlements.models import EntitlementOverrideRow
from repayguard.entitlements.service import OVERRIDE_RULE, overrides_at
from repayguard.entitlements.states import Entitlement, HeldDecision, MethodStates, announce
from repayguard.errors import ApprovalPayloadChanged
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class ApplyOverride:
    """Set a borrower's methods by hand for ``days`` (G4: every override expires), after
    ``notice_days`` for the parts that take something away (G3)."""

    borrower_id: str
    states: MethodStates
    reasons: tuple[str, ...]
    days: int
    notice_days: int
    note: str
    requested_by: str
    approved_by: str
    approval_id: str


@dataclass(frozen=True, slots=True)
class ReleaseDecision:
    """Apply a decision that was held for approval, as approved by ``approved_by``."""

    held: HeldDecision
    approval_id: str
    approved_by: str


def apply_override(cmd: ApplyOverride, *, uow: UnitOfWork, defaults: MethodStates) -> Entitlement:
    """Write the override into the borrower's entitlement and keep its record (who asked, who
    approved, why, until when). Decisions leave the borrower alone until it expires."""
    session = uow.session
    now = uow.clock.now()
    found = repository.load(session, [cmd.borrower_id]).get(cmd.borrower_id)
    before = found.states_at(now) if found is not None else defaults
    entitlement = _entitlement(
        cmd.borrower_id,
        before,
        cmd.states,
        now=now,
        notice_days=cmd.notice_days,
        expires_at=now + timedelta(days=cmd.days),
        review_at=now + timedelta(days=cmd.days),
        reasons=cmd.reasons,
        decision_id=cmd.approval_id,
        rule_id=OVERRIDE_RULE,
        tier=found.tier if found is not None else None,
        tier_since=found.tier_since if found is not None else None,
    )
    repository.upsert(session, [repository.row_of(entitlement, updated_at=now)])
    session.add(
        EntitlementOverrideRow(
            override_id=cmd.approval_id,
            borrower_id=cmd.borrower_id,
            states=cmd.states.as_dict(),
            reasons=list(cmd.reasons),
            note=cmd.note,
            requested_by=cmd.requested_by[:120],
            approved_by=cmd.approved_by[:120],
            approval_id=cmd.approval_id,
            applied_at=now,
            effective_at=entitlement.effective_at,
            expires_at=now + timedelta(days=cmd.days),
        )
    )
    uow.emit(
        Message(
            EntitlementOverridden(
                borrower_id=cmd.borrower_id,
                approval_id=cmd.approval_id,
                states=cmd.states.as_dict(),
                reasons=tuple(cmd.reasons),
                requested_by=cmd.requested_by,
                approved_by=cmd.approved_by,
                effective_at=entitlement.effective_at,
                expires_at=now + timedelta(days=cmd.days),
            )
        )
    )
    _emit_changed(uow, entitlement, cmd.approval_id, told=now)
    return entitlement


def release_decision(cmd: ReleaseDecision, *, uow: UnitOfWork) -> Entitlement:
    """Apply a held decision now: its notice period, expiry and review date count from the
    approval. Refused (ApprovalPayloadChanged) when the borrower's entitlement is no longer
    the one the decision was held against — a later decision or an override replaced it —
    because the approver saw a change from that state."""
    held = cmd.held
    session = uow.session
    now = uow.clock.now()
    found = repository.load(session, [held.borrower_id]).get(held.borrower_id)
    current_base = found.decision_id if found is not None else None
    if current_base != held.base_decision_id or (found is not None and overrides_at(found, now)):
        raise ApprovalPayloadChanged(
            f"borrower {held.borrower_id}'s methods changed since decision {held.decision_id} "
            "was held for approval",
            hint="reject this request; the next decision run proposes a current one",
        )
    before = found.states_at(now) if found is not None else held.before
    entitlement = _entitlement(
        held.borrower_id,
        before,
        held.states,
        now=now,
        notice_days=held.notice_days,
        expires_at=now + timedelta(days=held.max_days) if held.max_days else None,
        review_at=now + timedelta(days=held.review_after_days) if held.review_after_days else None,
        reasons=held.reasons,
        decision_id=held.decision_id,
        rule_id=held.rule_id,
        tier=held.tier,
        tier_since=held.tier_since,
    )
    repository.upsert(session, [repository.row_of(entitlement, updated_at=now)])
    _emit_changed(uow, entitlement, cmd.approval_id, told=now)
    return entitlement


def _entitlement(
    borrower_id: str,
    before: MethodStates,
    after: MethodStates,
    *,
    now: datetime,
    notice_days: int,
    expires_at: datetime | None,
    review_at: datetime | None,
    reasons: tuple[str, ...],
    decision_id: str,
    rule_id: str,
    tier: int | None,
    tier_since: datetime | None,
) -> Entitlement:
    """The entitlement after a change from ``before``: what takes something away waits for
    the notice period (interim states), the rest applies now — as for decisions."""
    interim, effective_at = announce(before, after, told=now, notice_days=notice_days)
    return Entitlement(
        borrower_id=borrower_id,
        states=after,
        interim=interim,
        effective_at=effective_at,
        expires_at=expires_at,
        review_at=review_at,
        reasons=reasons,
        decision_id=decision_id,
        rule_id=rule_id,
        tier=tier,
        tier_since=tier_since,
    )


def _emit_changed(
    uow: UnitOfWork, entitlement: Entitlement, approval_id: str, *, told: datetime
) -> None:
    uow.emit(
        Message(
            EntitlementsChanged(
                approval_id=approval_id,
                # The entitlement's periods count from when it was written (its updated_at).
                told_at=told,
                entitlements=(entitlement,),
            )
        )
    )


def override_starts(session: Session) -> dict[str, datetime]:
    """When each borrower's first approved manual override was applied: from then on their
    entitlement is not a function of decisions alone (a replay takes it from the record)."""
    query = select(
        EntitlementOverrideRow.borrower_id, func.min(EntitlementOverrideRow.applied_at)
    ).group_by(EntitlementOverrideRow.borrower_id)
    return {row[0]: row[1] for row in session.execute(query)}
