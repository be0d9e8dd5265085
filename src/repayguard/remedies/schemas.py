"""API DTOs of remedies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from repayguard.platform.dto import Schema


class RemedyRead(Schema):
    remedy_id: str = Field(description="The remedy's id.")
    complaint_id: str = Field(description="The reversed complaint it remedies.")
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    kind: Literal["fee_refund", "early_repayment_refund", "bureau_correction", "apology"] = Field(
        description="What the borrower gets.", examples=["fee_refund"]
    )
    amount: str = Field(description="decimal amount, e.g. '12.50' (0.00 for a correction)")
    amount_minor: int = Field(description="the amount in the currency's minor unit")
    currency: str = Field(description="ISO 4217 currency code.", examples=["CNY"])
    state: Literal["awaiting_approval", "approved", "rejected"] = Field(
        description="Whether it awaits a second person's approval, or was decided."
    )
    basis: dict[str, Any] = Field(description="how the amount was computed: events, rates")
    maker_name: str = Field(description="the operator who resolved the case")
    approval_id: str | None = Field(description="the request a second person decides it by")
    decided_by: str | None = Field(description="Who approved or rejected it, if decided.")
    created_at: datetime = Field(description="When it was worked out.")
    decided_at: datetime | None = Field(description="When it was decided, if it was.")
    exported_at: datetime | None = Field(description="when the lender's ledger took it")


class RemedyPage(Schema):
    complaint_id: str = Field(description="The complaint.")
    remedies: list[RemedyRead] = Field(description="The remedies of the case.")
