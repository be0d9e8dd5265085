"""Bus consumers of approvals: decisions held for approval become requests, one per borrower;
requests the borrower's changed entitlement made stale are withdrawn; remedies above the
auto-approval amount become requests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from repayguard import decisions, remedies
from repayguard.approvals import kinds, repository, rules, service
from repayguard.approvals.kinds import Prepared
from repayguard.approvals.models import REJECTED
from repayguard.entitlements import DecisionsHeld, EntitlementsChanged
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

_OUTCOME: Final = (
    "borrower_id",
    "rule_id",
    "states",
    "reasons",
    "base_decision_id",
    "notice_days",
    "max_days",
    "review_after_days",
)
"""What makes two held decisions the same proposal (not their ids, times or tier dates)."""


def same_proposal(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    return all(a.get(key) == b.get(key) for key in _OUTCOME)


class HeldDecisions:
    """Handles ``repayguard.decisions.held`` (wrap it with ``platform.consumers.idempotent``).

    For each held decision: a pending request proposing the same change is kept; one
    proposing another change is withdrawn as superseded and a new request made; a change the
    checker already rejected, against the same entitlement, is not proposed again. Every new
    request has no operator as maker, so any approver may decide it.
    """

    def __init__(self, *, lifetime: timedelta) -> None:
        self._lifetime = lifetime

    def __call__(self, message: Message[DecisionsHeld], uow: UnitOfWork) -> None:
        with uow:
            session = uow.session
            now = uow.clock.now()
            for held in message.fact.decisions:
                prepared = kinds.held_decision(held)
                proposal = rules.canonical_payload(prepared.payload)
                pending = repository.pending_for(session, "decision", held.borrower_id)
                if pending is not None:
                    if same_proposal(pending.payload, proposal):
                        continue
                    why = f"superseded by decision {held.decision_id}"
                    withdrawn = service.system_withdraw(session, pending, now, why)
                    if withdrawn is None:
                        continue  # an approver decided it meanwhile; the next run proposes anew
                    uow.emit(withdrawn)
                    session.flush()
                else:
                    last = repository.latest_for(session, "decision", held.borrower_id)
                    if (
                        last is not None
                        and last.state == REJECTED
                        and same_proposal(last.payload, proposal)
                    ):
                        continue
                row = service.system_request(
                    session, prepared, kind="decision", now=now, lifetime=self._lifetime
                )
                uow.emit(service.requested(row))
            uow.commit()


class SupersededHeldDecisions:
    """Withdraws pending held-decision requests that can no longer be what the checker
    should decide (wrap each handler with ``platform.consumers.idempotent``):

    - ``on_changed`` (``repayguard.entitlements.changed``): the borrower's entitlement was
      replaced by something other than the one the decision was held against (a later
      decision, an override, a reversal) — approving it would be refused
      (``entitlements.release_decision``);
    - ``on_run`` (``repayguard.decisions.run_completed``): a later run decided the borrower
      and no longer proposes that change (their risk improved, a case opened).

    Withdrawing at once, with what replaced the request, keeps the approvers' queue to what
    can still be approved instead of leaving stale requests there until they expire. A queue
    without pending held decisions costs one indexed probe per message.
    """

    def on_changed(self, message: Message[EntitlementsChanged], uow: UnitOfWork) -> None:
        now_set_by = {
            entitlement.borrower_id: entitlement.decision_id
            for entitlement in message.fact.entitlements
        }
        with uow:
            for row in repository.pending_about(uow.session, "decision", list(now_set_by)):
                current = now_set_by[row.subject]
                if row.payload.get("base_decision_id") != current:
                    why = f"superseded: the borrower's methods are now set by decision {current}"
                    _emit(uow, service.system_withdraw(uow.session, row, uow.clock.now(), why))
            uow.commit()

    def on_run(self, message: Message[decisions.RunCompleted], uow: UnitOfWork) -> None:
        with uow:
            session = uow.session
            pending = repository.pending_about(session, "decision", None)
            decided = decisions.run_outcomes(
                session, message.fact.run_id, [row.subject for row in pending]
            )
            for row in pending:
                outcome = decided.get(row.subject)
                if outcome is None or all(
                    outcome[key] == row.payload.get(key) for key in ("rule_id", "states", "reasons")
                ):
                    continue  # not in this run, or held again as it was
                why = (
                    f"superseded: decision {outcome['decision_id']} no longer proposes this change"
                )
                _emit(uow, service.system_withdraw(session, row, uow.clock.now(), why))
            uow.commit()


def _emit(uow: UnitOfWork, message: Message | None) -> None:
    if message is not None:
        uow.emit(message)


def remedy_request(proposed: remedies.RemedyFact) -> Prepared:
    """The request for a remedy above the auto-approval amount (``repayguard.remedy.proposed``):
    the remedy, its amount and currency pinned."""
    amount = f"{proposed.amount} {proposed.currency}"
    return Prepared(
        subject=proposed.remedy_id,
        category=proposed.kind,
        summary=f"{proposed.kind.replace('_', ' ')} of {amount} for "
        f"{proposed.borrower_id} (complaint {proposed.complaint_id})",
        payload={
            "remedy_id": proposed.remedy_id,
            "complaint_id": proposed.complaint_id,
            "borrower_id": proposed.borrower_id,
            "kind": proposed.kind,
            "amount_minor": proposed.amount_minor,
            "currency": proposed.currency,
            "basis": proposed.basis,
        },
    )


class ProposedRemedies:
    """Handles ``repayguard.remedy.proposed`` (wrap it with ``platform.consumers.idempotent``):
    a ``remedy`` request per remedy waiting for approval, made on behalf of the operator who
    resolved the case — so a second person approves it — and linked from the remedy."""

    def __init__(self, *, lifetime: timedelta) -> None:
        self._lifetime = lifetime

    def __call__(self, message: Message[remedies.RemedyProposed], uow: UnitOfWork) -> None:
        proposed = message.fact
        with uow:
            session = uow.session
            if repository.latest_for(session, "remedy", proposed.remedy_id) is not None:
                return  # already asked (a redelivery after the marker was lost)
            row = service.system_request(
                session,
                remedy_request(proposed),
                kind="remedy",
                now=uow.clock.now(),
                lifetime=self._lifetime,
                maker_id=proposed.maker_id,
                maker_name=proposed.maker,
                reason=f"remedy for reversed complaint {proposed.complaint_id}",
            )
            remedies.link_approval(proposed.remedy_id, row.request_id, uow=uow)
            uow.emit(service.requested(row))
            uow.commit()
