"""Bus consumer of approvals: decisions held for approval become requests, one per borrower."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, Final

from repayguard.approvals import kinds, repository, rules, service
from repayguard.approvals.models import REJECTED
from repayguard.entitlements import HeldDecision
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

    def __call__(self, message: Message, uow: UnitOfWork) -> None:
        with uow:
            session = uow.session
            now = uow.clock.now()
            for data in message.payload["decisions"]:
                held = HeldDecision.from_payload(data)
                prepared = kinds.held_decision(held)
                proposal = rules.canonical_payload(prepared.payload)
                pending = repository.pending_for(session, "decision", held.borrower_id)
                if pending is not None:
                    if same_proposal(pending.payload, proposal):
                        continue
                    uow.emit(
                        service.system_withdraw(
                            pending, now, f"superseded by decision {held.decision_id}"
                        )
                    )
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
