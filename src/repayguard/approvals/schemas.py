"""API shapes of approvals: the queue, one request, submitting, deciding, bulk approval."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, Field

from repayguard.approvals.documents import (
    EmergencyReviewDocument,
    ModelPromoteDocument,
    OverrideDocument,
    PlaybookApproveDocument,
    PolicyPublishDocument,
)
from repayguard.approvals.models import Kind
from repayguard.platform.dto import Schema

Comment = Annotated[str, Field(max_length=2000)]


class ApprovalRead(Schema):
    request_id: str
    kind: Kind
    subject: str
    category: str = Field(description="what the queue filters on: policy row, policy name, …")
    summary: str
    payload: dict[str, Any] = Field(description="exactly what approval applies")
    payload_sha256: str = Field(description="sha256 of the payload's canonical JSON, pinned")
    reason: str
    maker_id: str | None = Field(description="None: made by repayguard (a held decision)")
    maker_name: str
    state: Literal["pending", "approved", "rejected", "withdrawn", "expired"]
    created_at: datetime
    expires_at: datetime
    checker_id: str | None
    checker_name: str | None
    comment: str | None
    decided_at: datetime | None
    outcome: dict[str, Any] | None = Field(description="what applying the payload did")


class ApprovalPage(Schema):
    items: list[ApprovalRead]
    total: int
    limit: int
    offset: int


class _SubmitIn(Schema):
    reason: Comment = Field(default="", description="why the maker asks")
    expires_in_hours: int | None = Field(
        default=None, ge=1, le=720, description="instead of the kind's default lifetime"
    )


class PolicyPublishIn(_SubmitIn):
    kind: Literal["policy_publish"]
    payload: PolicyPublishDocument


class ModelPromoteIn(_SubmitIn):
    kind: Literal["model_promote"]
    payload: ModelPromoteDocument


class OverrideIn(_SubmitIn):
    kind: Literal["override"]
    payload: OverrideDocument


class EmergencyReviewIn(_SubmitIn):
    kind: Literal["emergency_review"]
    payload: EmergencyReviewDocument


class PlaybookApproveIn(_SubmitIn):
    kind: Literal["playbook_approve"]
    payload: PlaybookApproveDocument


SubmitIn = Annotated[
    PolicyPublishIn | ModelPromoteIn | OverrideIn | EmergencyReviewIn | PlaybookApproveIn,
    Field(discriminator="kind"),
]
"""A request a person makes (decisions are held for approval by repayguard itself)."""


class PublishRequestIn(Schema):
    """Ask for a draft to be published; a second person's approval publishes it."""

    reason: Comment = ""
    expires_in_hours: int | None = Field(default=None, ge=1, le=720)


class ApproveIn(Schema):
    comment: Comment = ""


class RejectIn(Schema):
    comment: Annotated[str, Field(min_length=1, max_length=2000, description="why (required)")]


class WithdrawIn(Schema):
    comment: Comment = ""


class BulkApproveIn(Schema):
    """Approve the pending held decisions that match, oldest first (routine decisions only)."""

    kind: Literal["decision"]
    category: str | None = Field(default=None, max_length=100, description="the policy row")
    subject: str | None = Field(default=None, max_length=200, description="one borrower")
    created_before: AwareDatetime | None = Field(
        default=None, description="only requests made before this time (default: now)"
    )
    comment: Annotated[str, Field(min_length=1, max_length=2000)]
    limit: int = Field(default=500, ge=1, le=1000)


class RefusalRead(Schema):
    request_id: str
    code: str
    message: str


class BulkOutcomeRead(Schema):
    approved: list[ApprovalRead]
    refused: list[RefusalRead]
