"""The messages approvals emits: ``repayguard.approval.*`` (also their audit actions)."""

from __future__ import annotations

import hashlib
from typing import Any, Final

from repayguard.approvals.models import ApprovalRequestRow
from repayguard.platform.messages import Message

APPROVAL_REQUESTED: Final = "repayguard.approval.requested"
APPROVAL_APPROVED: Final = "repayguard.approval.approved"
APPROVAL_REJECTED: Final = "repayguard.approval.rejected"
APPROVAL_WITHDRAWN: Final = "repayguard.approval.withdrawn"
APPROVAL_EXPIRED: Final = "repayguard.approval.expired"


def message(name: str, row: ApprovalRequestRow, **extra: Any) -> Message:
    """An approval event. The approval's subject goes under ``borrower_id`` when it is a
    borrower (so the audit trail pseudonymises it) and ``target`` otherwise; comments are
    pinned by hash only (free text may hold personal details; the text stays in the table)."""
    payload: dict[str, Any] = {
        "subject": f"approval:{row.request_id}",
        "request_id": row.request_id,
        "kind": row.kind,
        "category": row.category,
        "state": row.state,
        "payload_sha256": row.payload_sha256,
        "maker": row.maker_name,
        "checker": row.checker_name,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat(),
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        "comment_sha256": hashlib.sha256(row.comment.encode()).hexdigest() if row.comment else None,
        **extra,
    }
    key = "borrower_id" if row.kind in ("override", "decision") else "target"
    payload[key] = row.subject
    return Message(name, payload)
