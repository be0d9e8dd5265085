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
    request_id: str = Field(description="The approval request's id.", examples=["r-8d21"])
    kind: Kind = Field(description="What kind of change is asked for.", examples=["override"])
    subject: str = Field(
        description="What it is about: a borrower, a policy or model name.", examples=["B-1042"]
    )
    category: str = Field(description="what the queue filters on: policy row, policy name, …")
    summary: str = Field(description="The request in one line, for the queue.")
    payload: dict[str, Any] = Field(description="exactly what approval applies")
    payload_sha256: str = Field(description="sha256 of the payload's canonical JSON, pinned")
    reason: str = Field(description="Why the maker asks.")
    maker_id: str | None = Field(description="None: made by repayguard (a held decision)")
    maker_name: str = Field(description="Who asked (repayguard for a held decision).")
    state: Literal["pending", "approved", "rejected", "withdrawn", "expired"] = Field(
        description="Where the request is; only pending ones can be decided.",
        examples=["pending"],
    )
    created_at: datetime = Field(description="When it was asked for.")
    expires_at: datetime = Field(description="When it expires if nobody decides it.")
    checker_id: str | None = Field(description="The operator id of who decided it, if decided.")
    checker_name: str | None = Field(description="Who decided it, if decided.")
    comment: str | None = Field(description="The checker's (or withdrawing maker's) comment.")
    decided_at: datetime | None = Field(description="When it was decided, if it was.")
    outcome: dict[str, Any] | None = Field(description="what applying the payload did")


class ApprovalPage(Schema):
    items: list[ApprovalRead] = Field(description="This page of requests.")
    total: int = Field(description="Requests matching the filter, over all pages.", examples=[3])
    limit: int = Field(description="The page size asked for.", examples=[50])
    offset: int = Field(description="How many matching requests come before this page.")


class _SubmitIn(Schema):
    reason: Comment = Field(default="", description="why the maker asks")
    expires_in_hours: int | None = Field(
        default=None, ge=1, le=720, description="instead of the kind's default lifetime"
    )


class PolicyPublishIn(_SubmitIn):
    kind: Literal["policy_publish"] = Field(description="Publish a policy draft.")
    payload: PolicyPublishDocument = Field(description="The draft to publish.")


class ModelPromoteIn(_SubmitIn):
    kind: Literal["model_promote"] = Field(description="Promote a risk model to production.")
    payload: ModelPromoteDocument = Field(description="The model version to promote.")


class OverrideIn(_SubmitIn):
    kind: Literal["override"] = Field(description="Override one borrower's entitlement.")
    payload: OverrideDocument = Field(description="The states the override sets.")


class EmergencyReviewIn(_SubmitIn):
    kind: Literal["emergency_review"] = Field(
        description="Review an emergency action taken before approval."
    )
    payload: EmergencyReviewDocument = Field(description="The action to review.")


class PlaybookApproveIn(_SubmitIn):
    kind: Literal["playbook_approve"] = Field(
        description="Approve an emergency playbook in advance."
    )
    payload: PlaybookApproveDocument = Field(description="The playbook version to approve.")


SubmitIn = Annotated[
    PolicyPublishIn | ModelPromoteIn | OverrideIn | EmergencyReviewIn | PlaybookApproveIn,
    Field(discriminator="kind"),
]
"""A request a person makes (decisions are held for approval by repayguard itself)."""


class PublishRequestIn(Schema):
    """Ask for a draft to be published; a second person's approval publishes it."""

    reason: Comment = Field(default="", description="Why the maker asks.")
    expires_in_hours: int | None = Field(
        default=None, ge=1, le=720, description="Instead of the default lifetime of a request."
    )


class ApproveIn(Schema):
    comment: Comment = Field(default="", description="The checker's comment (optional).")


class RejectIn(Schema):
    comment: Annotated[str, Field(min_length=1, max_length=2000, description="why (required)")]


class WithdrawIn(Schema):
    comment: Comment = Field(default="", description="Why the maker withdraws it (optional).")


class BulkApproveIn(Schema):
    """Approve the pending held decisions that match, oldest first (routine decisions only)."""

    kind: Literal["decision"] = Field(description="Held decisions (the only kind bulk-approved).")
    category: str | None = Field(default=None, max_length=100, description="the policy row")
    subject: str | None = Field(default=None, max_length=200, description="one borrower")
    created_before: AwareDatetime | None = Field(
        default=None, description="only requests made before this time (default: now)"
    )
    comment: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        description="The checker's comment, recorded on each request approved."
    )
    limit: int = Field(default=500, ge=1, le=1000, description="At most this many requests.")


class RefusalRead(Schema):
    request_id: str = Field(description="The approval request's id.", examples=["r-8d21"])
    code: str = Field(description="The problem code it was refused with.")
    message: str = Field(description="Why, in words.")


class BulkOutcomeRead(Schema):
    approved: list[ApprovalRead] = Field(description="The requests approved and applied.")
    refused: list[RefusalRead] = Field(description="The requests that could not be approved.")
