"""API DTOs of remedies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from repayguard.platform.dto import Schema


class RemedyRead(Schema):
    remedy_id: str
    complaint_id: str
    borrower_id: str
    kind: Literal["fee_refund", "early_repayment_refund", "bureau_correction", "apology"]
    amount: str = Field(description="decimal amount, e.g. '12.50' (0.00 for a correction)")
    amount_minor: int = Field(description="the amount in the currency's minor unit")
    currency: str
    state: Literal["awaiting_approval", "approved", "rejected"]
    basis: dict[str, Any] = Field(description="how the amount was computed: events, rates")
    maker_name: str = Field(description="the operator who resolved the case")
    approval_id: str | None = Field(description="the request a second person decides it by")
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None
    exported_at: datetime | None = Field(description="when the lender's ledger took it")


class RemedyPage(Schema):
    complaint_id: str
    remedies: list[RemedyRead]
