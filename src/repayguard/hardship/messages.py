"""The messages hardship emits: ``repayguard.hardship.*`` (also their audit actions).

Payloads name the borrower under ``borrower_id`` (the audit trail pseudonymises it) and carry
no free text: the evidence and the reviewer's note stay sealed in their table.
"""

from __future__ import annotations

from typing import Any, Final

from repayguard.hardship.models import HardshipCaseRow
from repayguard.platform.messages import Message

HARDSHIP_OPENED: Final = "repayguard.hardship.opened"
HARDSHIP_ESCALATED: Final = "repayguard.hardship.escalated"
HARDSHIP_CLOSED: Final = "repayguard.hardship.closed"
HARDSHIP_VIEWED: Final = "repayguard.hardship.viewed"
HARDSHIP_NOTES_ROTATED: Final = "repayguard.hardship.notes_rotated"


def message(name: str, row: HardshipCaseRow, **extra: Any) -> Message:
    """A hardship event with the case's facts as they are now."""
    payload: dict[str, Any] = {
        "subject": f"hardship:{row.case_id}",
        "case_id": row.case_id,
        "borrower_id": row.borrower_id,
        "reason": row.reason,
        "status": row.status,
        "opened_by": row.opened_by,
        "opened_at": row.opened_at.isoformat(),
        "due_at": row.due_at.isoformat(),
        "escalation": row.escalation,
        "reviewer": row.reviewer_name,
        "closed_at": row.closed_at.isoformat() if row.closed_at else None,
        **extra,
    }
    return Message(name, payload)
