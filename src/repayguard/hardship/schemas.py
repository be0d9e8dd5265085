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

    notice_id: str
    kind: str = Field(description="hardship_opened or hardship_closed.")
    locale: str
    subject: str
    body: str
    created_at: datetime
    deliveries: list[DeliveryRead]


class HardshipRead(Schema):
    case_id: str
    borrower_id: str
    reason: Reason
    status: Literal["open", "granted", "declined", "withdrawn"]
    opened_by: str = Field(description="borrower, or operator:<id> (customer service).")
    opened_at: datetime
    due_at: datetime = Field(description="The SLA deadline.")
    overdue: bool = Field(description="Still open past its deadline.")
    escalation: Literal["due_soon", "overdue"] | None
    escalated_at: datetime | None
    reviewer_name: str | None = Field(description="The agent who closed the case.")
    closed_at: datetime | None
    notices: list[HardshipNoticeRead] = Field(
        default_factory=list, description="What the borrower was told about the case."
    )


class BorrowerHardshipRead(Schema):
    borrower_id: str
    cases: list[HardshipRead]


class HardshipPageRead(Schema):
    items: list[HardshipRead]
    total: int
    limit: int
    offset: int


class HardshipCaseRead(Schema):
    case: HardshipRead
    evidence: str = Field(description="The evidence note (reading it is audited).")
    note: str | None = Field(description="The reviewer's note, once closed (operators only).")
    methods_now: dict[str, Any] | None = Field(description="The borrower's methods in force.")


class CloseIn(Schema):
    outcome: Outcome = Field(description="granted, declined, or withdrawn (the borrower's wish).")
    note: str = Field(min_length=1, max_length=4_000, description="Why (kept encrypted).")
