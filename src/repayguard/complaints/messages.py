"""The messages complaints emits: ``repayguard.complaint.*`` (also their audit actions).

Payloads name the borrower under ``borrower_id`` (the audit trail pseudonymises it) and carry
no free text: the borrower's statement stays encrypted in its table, and an agent's comment is
pinned by its hash only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Self

from repayguard.complaints.models import ComplaintRow
from repayguard.platform.messages import Fact, omitted_when_none


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintFact(Fact):
    """A complaint case as it stands after a step; the optional fields are the step's own
    (who filed it, why it was viewed, how it was resolved, …), absent on the others."""

    subject: str
    complaint_id: str
    borrower_id: str
    decision_id: str
    contested: tuple[str, ...]
    status: str
    filed_at: datetime
    due_at: datetime
    escalation: str | None
    approval_id: str | None
    reviewer: str | None
    comment_sha256: str | None
    resolved_at: datetime | None
    filed_by: str | None = omitted_when_none()
    purpose: str | None = omitted_when_none()
    level: str | None = omitted_when_none()
    outcome: str | None = omitted_when_none()
    approved_by: str | None = omitted_when_none()
    approval_state: str | None = omitted_when_none()

    @classmethod
    def of(
        cls,
        row: ComplaintRow,
        *,
        filed_by: str | None = None,
        purpose: str | None = None,
        level: str | None = None,
        outcome: str | None = None,
        approved_by: str | None = None,
        approval_state: str | None = None,
    ) -> Self:
        return cls(
            subject=f"complaint:{row.complaint_id}",
            complaint_id=row.complaint_id,
            borrower_id=row.borrower_id,
            decision_id=row.decision_id,
            contested=tuple(row.contested),
            status=row.status,
            filed_at=row.filed_at,
            due_at=row.due_at,
            escalation=row.escalation,
            approval_id=row.approval_id,
            reviewer=row.reviewer_name,
            comment_sha256=(
                hashlib.sha256(row.comment.encode()).hexdigest() if row.comment else None
            ),
            resolved_at=row.resolved_at,
            filed_by=filed_by,
            purpose=purpose,
            level=level,
            outcome=outcome,
            approved_by=approved_by,
            approval_state=approval_state,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintFiled(ComplaintFact):
    NAME = "repayguard.complaint.filed"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintEscalated(ComplaintFact):
    NAME = "repayguard.complaint.escalated"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintResolved(ComplaintFact):
    NAME = "repayguard.complaint.resolved"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintReversalRequested(ComplaintFact):
    NAME = "repayguard.complaint.reversal_requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintReversalRefused(ComplaintFact):
    NAME = "repayguard.complaint.reversal_refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class ComplaintViewed(ComplaintFact):
    NAME = "repayguard.complaint.viewed"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatementsRotated(Fact):
    """A batch of borrowers' statements re-encrypted under the active data key."""

    NAME = "repayguard.complaint.statements_rotated"

    subject: str
    key_id: str
    statements: int

    @classmethod
    def of(cls, key_id: str, count: int) -> Self:
        return cls(subject=f"data_key:{key_id}", key_id=key_id, statements=count)


COMPLAINT_FILED: Final = ComplaintFiled.NAME
COMPLAINT_ESCALATED: Final = ComplaintEscalated.NAME
COMPLAINT_RESOLVED: Final = ComplaintResolved.NAME
COMPLAINT_REVERSAL_REQUESTED: Final = ComplaintReversalRequested.NAME
COMPLAINT_REVERSAL_REFUSED: Final = ComplaintReversalRefused.NAME
COMPLAINT_VIEWED: Final = ComplaintViewed.NAME
STATEMENTS_ROTATED: Final = StatementsRotated.NAME
