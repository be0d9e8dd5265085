"""Applying the ``remedy`` kind of approval: the checker's decision settles exactly the
remedy the request pinned (the request itself is made by ``consumers.ProposedRemedies``)."""

from __future__ import annotations

from repayguard import remedies
from repayguard.approvals.models import ApprovalRequestRow
from repayguard.identity import OperatorRead


def settle_remedy(row: ApprovalRequestRow, checker: OperatorRead) -> remedies.SettleRemedy:
    """What approving or rejecting a ``remedy`` request settles: exactly the pinned remedy."""
    return remedies.SettleRemedy(
        row.payload["remedy_id"],
        int(row.payload["amount_minor"]),
        str(row.payload["currency"]),
        row.request_id,
        checker.username,
    )
