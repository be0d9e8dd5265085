"""Logged decisions with their lineage, as other capabilities read them (complaints shows the
decision a borrower contests: inputs, model and policy versions, rule, reasons)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from repayguard.decisions import repository
from repayguard.decisions.models import DecisionRow
from repayguard.entitlements import MethodStates
from repayguard.platform.records import record_of


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """One decision as the log holds it (never changed after it was written)."""

    decision_id: str
    run_id: str
    borrower_id: str
    as_of: datetime
    pd: float
    tier: int
    model_version: str
    policy_version: str
    policy_hash: str
    rule_id: str
    states: MethodStates
    reasons: tuple[str, ...]
    requires_approval: bool
    notice_days: int
    max_days: int | None
    review_after_days: int | None
    guardrail: str | None
    input_hash: str
    inputs: dict[str, Any]
    """The policy inputs as they went in (decoded canonical JSON)."""
    overlay_id: str | None = None
    """The emergency overlay that tightened the policy's outcome, if any."""


def _logged(row: DecisionRow) -> LoggedDecision:
    return record_of(
        LoggedDecision,
        row,
        states=MethodStates(
            row.auto_debit, row.early_repayment, row.manual, tuple(row.manual_channels)
        ),
        reasons=tuple(row.reasons),
        inputs=orjson.loads(row.inputs),
    )


def find_decision(session: Session, decision_id: str) -> LoggedDecision | None:
    """A logged decision by id, read in the caller's transaction; None when not logged."""
    row = repository.get(session, decision_id)
    return _logged(row) if row is not None else None


def recent_decisions(
    session: Session, borrower_id: str, *, limit: int = 20
) -> list[LoggedDecision]:
    """The borrower's latest logged decisions, newest first (at most ``limit``)."""
    return [_logged(row) for row in repository.recent(session, borrower_id, limit=limit)]
