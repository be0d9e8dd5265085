"""What would change a borrower's outcome, worked out against the policy and model in force.

The borrower API (``GET /v1/borrowers/{id}/what-would-change``) and the console's borrower
page read it; notices compose the same search. The decision behind the borrower's current
methods supplies the inputs; the search (``core/policy/counterfactual.py``) changes actionable
inputs only and moves the tier only through the model's points and the bands.
"""

from __future__ import annotations

from dataclasses import dataclass

from repayguard import entitlements
from repayguard.borrowers.errors import BorrowerNotFound
from repayguard.core.policy.counterfactual import Counterfactual, search
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs
from repayguard.core.risk_moves import tier_move
from repayguard.decisions.engine import DecisionEngine
from repayguard.decisions.lineage import find_decision
from repayguard.platform.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Outlook:
    """The counterfactual of the borrower's current methods (``decision_id`` decided them)."""

    borrower_id: str
    decision_id: str
    rule_id: str
    counterfactual: Counterfactual


def what_would_change(borrower_id: str, *, uow: UnitOfWork, engine: DecisionEngine) -> Outlook:
    """The smallest changes that would loosen the borrower's methods, or why there are none.

    Raises BorrowerNotFound for a borrower never decided. A decision taken under a policy whose
    inputs differ from the one in force (or a manual override) says ``unavailable``.
    """
    with uow:
        current = entitlements.load(uow.session, [borrower_id]).get(borrower_id)
        if current is None:
            raise BorrowerNotFound(
                f"no decision has been made for borrower {borrower_id!r} yet",
                hint="ingest the borrower's events, or run 'repayguard decide --all'",
            )
        decision = find_decision(uow.session, current.decision_id)
    unavailable = Outlook(
        borrower_id, current.decision_id, current.rule_id, Counterfactual((), "unavailable")
    )
    if decision is None:
        return unavailable
    compiled = engine.compiled
    try:
        inputs = coerce_inputs(compiled.policy, decision.inputs)
    except InputsInvalid:
        return unavailable
    found = search(
        compiled,
        inputs,
        current.states.as_dict(),
        decided_keep=compiled.evaluate_row(inputs).keep,
        risk=tier_move(engine.model, engine.bands),
    )
    return Outlook(borrower_id, current.decision_id, current.rule_id, found)
