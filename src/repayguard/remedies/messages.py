"""The messages remedies emits: ``repayguard.remedy.*`` (also their audit actions).

``repayguard.remedy.approved`` is the lender's ledger entry: what to refund or waive (or the
bureau correction to file), for whom, approved by whom. Amounts are given both in minor units
(exact) and as a decimal string.
"""

from __future__ import annotations

from typing import Any, Final

from repayguard.platform.messages import Message
from repayguard.remedies.models import RemedyRow

REMEDY_PROPOSED: Final = "repayguard.remedy.proposed"
REMEDY_APPROVED: Final = "repayguard.remedy.approved"
REMEDY_REJECTED: Final = "repayguard.remedy.rejected"
REMEDY_EXPORTED: Final = "repayguard.remedy.exported"


def amount_text(amount_minor: int) -> str:
    """``1250`` → ``"12.50"``: a minor-unit amount as the decimal people read."""
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


def message(name: str, row: RemedyRow, **extra: Any) -> Message:
    """A remedy event with the remedy as it is now."""
    payload: dict[str, Any] = {
        "subject": f"remedy:{row.remedy_id}",
        "remedy_id": row.remedy_id,
        "complaint_id": row.complaint_id,
        "borrower_id": row.borrower_id,
        "decision_id": row.decision_id,
        "kind": row.kind,
        "amount_minor": row.amount_minor,
        "amount": amount_text(row.amount_minor),
        "currency": row.currency,
        "basis": row.basis,
        "state": row.state,
        "maker_id": row.maker_id,
        "maker": row.maker_name,
        "approval_id": row.approval_id,
        "decided_by": row.decided_by,
        "decided_at": row.decided_at.isoformat() if row.decided_at else None,
        **extra,
    }
    return Message(name, payload)
