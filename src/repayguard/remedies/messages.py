"""The messages remedies emits: ``repayguard.remedy.*`` (also their audit actions).

``repayguard.remedy.approved`` is the lender's ledger entry: what to refund or waive (or the
bureau correction to file), for whom, approved by whom. Amounts are given both in minor units
(exact) and as a decimal string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final, Self

from repayguard.platform.messages import Fact, JSONValue
from repayguard.remedies.models import RemedyRow


def amount_text(amount_minor: int) -> str:
    """``1250`` → ``"12.50"``: a minor-unit amount as the decimal people read."""
    return f"{amount_minor // 100}.{amount_minor % 100:02d}"


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyFact(Fact):
    """A remedy as it stands after a step."""

    subject: str
    remedy_id: str
    complaint_id: str
    borrower_id: str
    decision_id: str
    kind: str
    amount_minor: int
    amount: str
    currency: str
    basis: dict[str, JSONValue]
    state: str
    maker_id: str | None
    maker: str
    approval_id: str | None
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def of(cls, row: RemedyRow) -> Self:
        return cls(
            subject=f"remedy:{row.remedy_id}",
            remedy_id=row.remedy_id,
            complaint_id=row.complaint_id,
            borrower_id=row.borrower_id,
            decision_id=row.decision_id,
            kind=row.kind,
            amount_minor=row.amount_minor,
            amount=amount_text(row.amount_minor),
            currency=row.currency,
            basis=row.basis,
            state=row.state,
            maker_id=row.maker_id,
            maker=row.maker_name,
            approval_id=row.approval_id,
            decided_by=row.decided_by,
            decided_at=row.decided_at,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyProposed(RemedyFact):
    NAME = "repayguard.remedy.proposed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyApproved(RemedyFact):
    """The lender's ledger entry (also the body of the ledger export)."""

    NAME = "repayguard.remedy.approved"


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyRejected(RemedyFact):
    NAME = "repayguard.remedy.rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class RemedyExported(RemedyFact):
    NAME = "repayguard.remedy.exported"


REMEDY_PROPOSED: Final = RemedyProposed.NAME
REMEDY_APPROVED: Final = RemedyApproved.NAME
REMEDY_REJECTED: Final = RemedyRejected.NAME
REMEDY_EXPORTED: Final = RemedyExported.NAME
