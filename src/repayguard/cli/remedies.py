"""How ``repayguard complaints show`` prints a case's remedies (table and JSON)."""

from __future__ import annotations

from typing import Any

from rich.table import Table

from repayguard.remedies import RemedyInfo

_WHAT = {
    "fee_refund": "refund failed-debit fees",
    "early_repayment_refund": "refund interest (early repayment blocked)",
    "bureau_correction": "credit-bureau correction",
    "apology": "apology notice",
}


def _status(found: RemedyInfo) -> str:
    if found.state == "awaiting_approval":
        return f"waits for a second person (request {found.approval_id})"
    if found.state == "rejected":
        return f"rejected by {found.decided_by}"
    if found.kind == "apology":
        return "sent"
    if found.exported_at is not None:
        return f"approved by {found.decided_by}; in the ledger {found.exported_at:%Y-%m-%d %H:%M}"
    if found.export_attempts:
        return f"approved; ledger export failing ({found.export_attempts} tries): retrying"
    return f"approved by {found.decided_by}; ledger export pending"


def remedies_table(found: tuple[RemedyInfo, ...]) -> Table:
    """The case's remedies: what, how much, where it stands."""
    table = Table(title="Remedies", title_justify="left")
    for column in ("remedy", "amount", "status"):
        table.add_column(column, justify="right" if column == "amount" else "left")
    for r in found:
        amount = f"{r.amount} {r.currency}" if r.amount_minor else "-"
        table.add_row(_WHAT.get(r.kind, r.kind), amount, _status(r))
    return table


def remedies_json(found: tuple[RemedyInfo, ...]) -> list[dict[str, Any]]:
    return [
        {
            "remedy_id": r.remedy_id,
            "kind": r.kind,
            "amount": r.amount,
            "currency": r.currency,
            "state": r.state,
            "approval_id": r.approval_id,
            "decided_by": r.decided_by,
            "exported_at": r.exported_at.isoformat() if r.exported_at else None,
            "basis": r.basis,
        }
        for r in found
    ]
