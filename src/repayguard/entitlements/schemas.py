"""API shapes of entitlements and authorize."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from repayguard.platform.dto import Schema

_DECISION_ID = "The decision in force (its log entry; what a complaint contests)."
_REASON_CODES = "The reason codes of the decision in force, with their text in the asked locale."


class AuthorizeIn(Schema):
    borrower_id: str = Field(
        min_length=1,
        max_length=64,
        description="The borrower who wants to repay.",
        examples=["B-1042"],
    )
    loan_id: str | None = Field(
        default=None,
        max_length=64,
        description="The loan the repayment is for, when the lender tracks it.",
        examples=["B-1042-L1"],
    )
    method: Literal["auto_debit", "early_repayment", "manual"] = Field(
        description="The repayment method the borrower is about to use.",
        examples=["manual"],
    )
    channel: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="A manual channel declared by the policy in force (e.g. bank_card under "
        "the CN policy, sepa_transfer under the EU example); another name answers 422.",
        examples=["bank_card"],
    )
    amount: float | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="The amount about to be repaid, in the loan's currency.",
        examples=[250.0],
    )


class ReasonRead(Schema):
    code: str = Field(
        description="Stable reason code of the decision.", examples=["REPEATED_FAILED_DEBITS"]
    )
    text: str = Field(
        description="The reason in words, in the asked locale (Accept-Language).",
        examples=["Recent automatic debits failed repeatedly."],
    )


class AlternativeRead(Schema):
    method: str = Field(description="A repayment method that is allowed.", examples=["manual"])
    channel: str | None = Field(
        description="For a manual method, the channel it is allowed through.",
        examples=["bank_card"],
    )


class AuthorizeOut(Schema):
    allowed: bool = Field(description="Whether the borrower may repay this way now.")
    reasons: list[ReasonRead] = Field(description=_REASON_CODES)
    alternatives: list[AlternativeRead] = Field(
        description="Allowed ways to repay instead, when this one is not."
    )
    decision_id: str | None = Field(
        description=f"{_DECISION_ID} None for a borrower with no decision yet.",
        examples=["d-7f3a9c"],
    )


class MethodStatesRead(Schema):
    auto_debit: Literal["optional", "mandatory", "disabled"] = Field(
        description="Whether automatic debit may, must or may not be used.",
        examples=["optional"],
    )
    early_repayment: Literal["allowed", "restricted"] = Field(
        description="Whether the borrower may repay ahead of the due date.", examples=["allowed"]
    )
    manual: Literal["allowed", "forced"] = Field(
        description="Whether manual repayment is allowed, or the only way (forced).",
        examples=["allowed"],
    )
    manual_channels: list[str] = Field(
        description="The manual channels the borrower may use.",
        examples=[["app_balance", "bank_card"]],
    )


class PendingChangeRead(Schema):
    """A restriction announced but not yet in force (advance-notice period)."""

    states: MethodStatesRead = Field(description="The states once the change takes effect.")
    effective_at: datetime = Field(
        description="When the change takes effect (the end of the notice period).",
        examples=["2026-03-04T12:00:00Z"],
    )


class RepaymentMethodsRead(Schema):
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    methods: MethodStatesRead = Field(description="The states in force now.")
    pending: PendingChangeRead | None = Field(
        description="A tighter change announced and waiting for its notice period, if any."
    )
    reasons: list[ReasonRead] = Field(description=_REASON_CODES)
    tier: str | None = Field(
        description="The borrower's risk tier at the decision (None when the policy did not "
        "use one).",
        examples=["B"],
    )
    decision_id: str = Field(description=_DECISION_ID, examples=["d-7f3a9c"])
    rule_id: str = Field(description="The policy row that decided.", examples=["failed-debits"])
    effective_at: datetime = Field(
        description="Since when these states are in force.", examples=["2026-03-01T12:00:00Z"]
    )
    expires_at: datetime | None = Field(
        description="When a time-limited restriction ends by itself, if it does.",
        examples=["2026-03-31T12:00:00Z"],
    )
    review_at: datetime | None = Field(
        description="When the decision is due to be looked at again, if the policy says.",
        examples=["2026-03-15T12:00:00Z"],
    )
