"""API shapes of hardship cases: opening, a borrower's cases, the queue, one case, closing."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from repayguard.notices import DeliveryRead
from repayguard.platform.dto import Schema

Reason = Literal["job_loss", "illness", "natural_disaster", "family_emergency", "other"]
Outcome = Literal["granted", "declined", "withdrawn"]


class HardshipIn(Schema):
    """A request for hardship relief."""

    reason: Reason = Field(description="Why the borrower asks for relief.")
    evidence: str = Field(
        min_length=1,
        max_length=4_000,
        description="What happened and since when (personal data: stored encrypted).",
    )


class HardshipNoticeRead(Schema):
    """A notice the borrower was sent about the case (it is in their notice inbox too)."""

    notice_id: str = Field(description="The notice's id.", examples=["n-19c2"])
    kind: str = Field(description="hardship_opened or hardship_closed.")
    locale: str = Field(description="The locale it was written in.", examples=["en"])
    subject: str = Field(description="The notice's subject line.")
    body: str = Field(description="The notice as the borrower received it (plain text).")
    created_at: datetime = Field(description="When it was written.")
    deliveries: list[DeliveryRead] = Field(description="Its delivery on each channel.")


class HardshipRead(Schema):
    case_id: str = Field(description="The case's id.", examples=["h-2a91"])
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    reason: Reason = Field(description="The hardship the borrower reports.")
    status: Literal["open", "granted", "declined", "withdrawn"] = Field(
        description="Open, or how it was closed.", examples=["open"]
    )
    opened_by: str = Field(description="borrower, or operator:<id> (customer service).")
    opened_at: datetime = Field(description="When the case was opened.")
    due_at: datetime = Field(description="The SLA deadline.")
    overdue: bool = Field(description="Still open past its deadline.")
    escalation: Literal["due_soon", "overdue"] | None = Field(
        description="How far the case was escalated for its deadline, if at all."
    )
    escalated_at: datetime | None = Field(description="When it was last escalated.")
    reviewer_name: str | None = Field(description="The agent who closed the case.")
    closed_at: datetime | None = Field(description="When it was closed, if it is.")
    notices: list[HardshipNoticeRead] = Field(
        default_factory=list, description="What the borrower was told about the case."
    )


class BorrowerHardshipRead(Schema):
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    cases: list[HardshipRead] = Field(description="The borrower's cases, newest first.")


class HardshipPageRead(Schema):
    items: list[HardshipRead] = Field(description="This page of cases.")
    total: int = Field(description="Cases matching the filter, over all pages.", examples=[4])
    limit: int = Field(description="The page size asked for.", examples=[50])
    offset: int = Field(description="How many matching cases come before this page.")


class HardshipCaseRead(Schema):
    case: HardshipRead = Field(description="The case.")
    evidence: str = Field(description="The evidence note (reading it is audited).")
    note: str | None = Field(description="The reviewer's note, once closed (operators only).")
    methods_now: dict[str, Any] | None = Field(description="The borrower's methods in force.")


class CloseIn(Schema):
    outcome: Outcome = Field(description="granted, declined, or withdrawn (the borrower's wish).")
    note: str = Field(min_length=1, max_length=4_000, description="Why (kept encrypted).")
