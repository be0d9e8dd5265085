"""The messages complaints emits: ``repayguard.complaint.*`` (also their audit actions).

Payloads name the borrower under ``borrower_id`` (the audit trail pseudonymises it) and carry
no free text: the borrower's statement stays encrypted in its table, and an agent's comment is
pinned by its hash only.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from repayguard.complaints.models import ComplaintRow
from repayguard.platform.messages import Message

COMPLAINT_FILED: Final = "repayguard.complaint.filed"
COMPLAINT_ESCALATED: Final = "repayguard.complaint.escalated"
COMPLAINT_RESOLVED: Final = "repayguard.complaint.resolved"
COMPLAINT_REVERSAL_REQUESTED: Final = "repayguard.complaint.reversal_requested"
COMPLAINT_REVERSAL_REFUSED: Final = "repayguard.complaint.reversal_refused"
COMPLAINT_VIEWED: Final = "repayguard.complaint.viewed"


def message(name: str, row: ComplaintRow, **extra: Any) -> Message:
    """A complaint event with the case's facts as they are now."""
    payload: dict[str, Any] = {
        "subject": f"complaint:{row.complaint_id}",
        "complaint_id": row.complaint_id,
        "borrower_id": row.borrower_id,
        "decision_id": row.decision_id,
        "contested": list(row.contested),
        "status": row.status,
        "filed_at": row.filed_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "escalation": row.escalation,
        "approval_id": row.approval_id,
        "reviewer": row.reviewer_name,
        "comment_sha256": (
            hashlib.sha256(row.comment.encode()).hexdigest() if row.comment else None
        ),
        "resolved_at": row.resolved_at.isoformat() if row.resolved_at else None,
        **extra,
    }
    return Message(name, payload)
