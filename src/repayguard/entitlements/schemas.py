"""API shapes of entitlements and authorize."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from repayguard.platform.dto import Schema


class AuthorizeIn(Schema):
    borrower_id: str = Field(min_length=1, max_length=64)
    loan_id: str | None = Field(default=None, max_length=64)
    method: Literal["auto_debit", "early_repayment", "manual"]
    channel: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="A manual channel declared by the policy in force (e.g. bank_card under "
        "the CN policy, sepa_transfer under the EU example); another name answers 422.",
    )
    amount: float | None = Field(default=None, ge=0, allow_inf_nan=False)


class ReasonRead(Schema):
    code: str
    text: str


class AlternativeRead(Schema):
    method: str
    channel: str | None


class AuthorizeOut(Schema):
    allowed: bool
    reasons: list[ReasonRead]
    alternatives: list[AlternativeRead]
    decision_id: str | None


class MethodStatesRead(Schema):
    auto_debit: Literal["optional", "mandatory", "disabled"]
    early_repayment: Literal["allowed", "restricted"]
    manual: Literal["allowed", "forced"]
    manual_channels: list[str]


class PendingChangeRead(Schema):
    """A restriction announced but not yet in force (advance-notice period)."""

    states: MethodStatesRead
    effective_at: datetime


class RepaymentMethodsRead(Schema):
    borrower_id: str
    methods: MethodStatesRead = Field(description="The states in force now.")
    pending: PendingChangeRead | None
    reasons: list[ReasonRead]
    tier: str | None
    decision_id: str
    rule_id: str
    effective_at: datetime
    expires_at: datetime | None
    review_at: datetime | None
