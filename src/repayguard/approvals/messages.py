"""The messages approvals emits: ``repayguard.approval.*`` (also their audit actions)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Self

from repayguard.approvals.models import ApprovalRequestRow
from repayguard.platform.messages import Fact, JSONValue, omitted_when_none


def _sha256(text: str | None) -> str | None:
    return hashlib.sha256(text.encode()).hexdigest() if text else None


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalFact(Fact):
    """An approval request as it stands after a step. Its subject goes under ``borrower_id``
    when it is a borrower (so the audit trail pseudonymises it) and ``target`` otherwise; the
    checker's comment is pinned by hash only (free text may hold personal details; the text
    stays in the table)."""

    subject: str
    request_id: str
    kind: str
    category: str
    state: str
    payload_sha256: str
    maker: str
    checker: str | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    comment_sha256: str | None
    borrower_id: str | None = omitted_when_none()
    target: str | None = omitted_when_none()
    outcome: dict[str, JSONValue] | None = omitted_when_none()
    """What applying the approved request did (on ``approved`` only)."""

    @classmethod
    def of(cls, row: ApprovalRequestRow, *, outcome: dict[str, Any] | None = None) -> Self:
        borrower = row.kind in ("override", "decision")
        return cls(
            subject=f"approval:{row.request_id}",
            request_id=row.request_id,
            kind=row.kind,
            category=row.category,
            state=row.state,
            payload_sha256=row.payload_sha256,
            maker=row.maker_name,
            checker=row.checker_name,
            created_at=row.created_at,
            expires_at=row.expires_at,
            decided_at=row.decided_at,
            comment_sha256=_sha256(row.comment),
            borrower_id=row.subject if borrower else None,
            target=None if borrower else row.subject,
            outcome=outcome,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequested(ApprovalFact):
    NAME = "repayguard.approval.requested"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalDecided(ApprovalFact):
    """A request left the queue: approved, rejected, withdrawn or expired."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalApproved(ApprovalDecided):
    NAME = "repayguard.approval.approved"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRejected(ApprovalDecided):
    NAME = "repayguard.approval.rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalWithdrawn(ApprovalDecided):
    NAME = "repayguard.approval.withdrawn"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalRequestExpired(ApprovalDecided):
    NAME = "repayguard.approval.expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class EmergencyReviewed(Fact):
    """A second person's verdict on an emergency action taken without prior approval."""

    NAME = "repayguard.emergency.reviewed"

    subject: str
    action_id: str
    action: str
    taken_by: str
    endorsed: bool
    reviewed_by: str
    request_id: str


APPROVALS_DECIDED: Final[tuple[type[ApprovalDecided], ...]] = (
    ApprovalApproved,
    ApprovalRejected,
    ApprovalWithdrawn,
    ApprovalRequestExpired,
)
APPROVAL_REQUESTED: Final = ApprovalRequested.NAME
APPROVAL_APPROVED: Final = ApprovalApproved.NAME
APPROVAL_REJECTED: Final = ApprovalRejected.NAME
APPROVAL_WITHDRAWN: Final = ApprovalWithdrawn.NAME
APPROVAL_EXPIRED: Final = ApprovalRequestExpired.NAME
EMERGENCY_REVIEWED: Final = EmergencyReviewed.NAME
