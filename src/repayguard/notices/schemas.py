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
    code: str = Field(description="Stable reason code.", examples=["REPEATED_FAILED_DEBITS"])
    text: str = Field(description="The reason in the notice's locale.")


class DeliveryRead(Schema):
    channel: str = Field(description="inbox, webhook, or an installed adapter's name.")
    status: str = Field(description="pending, delivered or failed (after the last attempt).")
    attempts: int = Field(description="Delivery attempts so far.", examples=[1])
    next_attempt_at: datetime | None = Field(description="When it is tried again, if it will be.")
    delivered_at: datetime | None = Field(description="When it was delivered, if it was.")
    last_error: str | None = Field(description="Shown to operators only.")

    @classmethod
    def of(cls, delivery: DeliveryInfo, *, operator: bool) -> DeliveryRead:
        """One delivery as the API shows it; its last error only to operators."""
        return record_of(cls, delivery, last_error=delivery.last_error if operator else None)


class NoticeRead(Schema):
    notice_id: str = Field(description="The notice's id.", examples=["n-19c2"])
    kind: str = Field(
        description="advance, explanation, restoration, withdrawal (changes of methods), "
        "complaint_received, complaint_resolved, hardship_opened, hardship_closed or "
        "remedy_apology."
    )
    locale: str = Field(description="The locale it was written in.", examples=["en"])
    subject: str = Field(description="The notice's subject line.")
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
    created_at: datetime = Field(description="When it was written.")
    decision_id: str | None = Field(description="The decision the notice is about, if any.")
    rule_id: str | None = Field(description="The policy row of a change of methods.")
    occasion_id: str | None = Field(
        description="What a notice of another occasion is about (complaints: the case id)."
    )
    deliveries: list[DeliveryRead] = Field(description="Its delivery on each channel.")


class NoticePage(Schema):
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    notices: list[NoticeRead] = Field(description="The borrower's notices, newest first.")
