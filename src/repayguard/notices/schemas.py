"""API shapes of notices: a borrower's inbox with the delivery record per channel."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import Field

from repayguard.platform.dto import Schema
from repayguard.platform.records import record_of

if TYPE_CHECKING:
    from repayguard.notices.service import DeliveryInfo


class NoticeReasonRead(Schema):
    code: str
    text: str


class DeliveryRead(Schema):
    channel: str = Field(description="inbox, webhook, or an installed adapter's name.")
    status: str = Field(description="pending, delivered or failed (after the last attempt).")
    attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    last_error: str | None = Field(description="Shown to operators only.")

    @classmethod
    def of(cls, delivery: DeliveryInfo, *, operator: bool) -> DeliveryRead:
        """One delivery as the API shows it; its last error only to operators."""
        return record_of(cls, delivery, last_error=delivery.last_error if operator else None)


class NoticeRead(Schema):
    notice_id: str
    kind: str = Field(
        description="advance, explanation, restoration, withdrawal (changes of methods), "
        "complaint_received, complaint_resolved, hardship_opened, hardship_closed or "
        "remedy_apology."
    )
    locale: str
    subject: str
    body: str = Field(description="The notice as the borrower received it (plain text).")
    reasons: list[NoticeReasonRead] = Field(description="At most four, most important first.")
    changes: list[dict[str, Any]] = Field(
        description="Each method that changes: method, before, after, tightens."
    )
    what_would_change: list[dict[str, Any]] = Field(
        description="Single input changes that would loosen the outcome: input, before, after, "
        "loosens."
    )
    effective_at: datetime | None = Field(
        description="Advance notices: when the change takes effect."
    )
    created_at: datetime
    decision_id: str | None = Field(description="The decision the notice is about, if any.")
    rule_id: str | None = Field(description="The policy row of a change of methods.")
    occasion_id: str | None = Field(
        description="What a notice of another occasion is about (complaints: the case id)."
    )
    deliveries: list[DeliveryRead]


class NoticePage(Schema):
    borrower_id: str
    notices: list[NoticeRead]
