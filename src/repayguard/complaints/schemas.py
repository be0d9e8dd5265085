"""API shapes of complaints: filing, a borrower's cases, the queue, one case for review,
resolving."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from repayguard.notices import DeliveryRead
from repayguard.platform.dto import Schema

Method = Literal["auto_debit", "early_repayment", "manual", "manual_channels"]


class ComplaintIn(Schema):
    """A borrower's complaint against a decision (their latest unless one is named)."""

    contested: Annotated[list[Method], Field(min_length=1, max_length=4)] = Field(
        description="What the borrower contests: methods, or the channels left to repay by hand."
    )
    statement: str = Field(
        min_length=1,
        max_length=4_000,
        description="The borrower's own words (personal data: stored encrypted).",
    )
    decision_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="The decision contested (one of this borrower's); default: their latest.",
    )


class CaseNoticeRead(Schema):
    """A notice the borrower was sent about the case (it is in their notice inbox too)."""

    notice_id: str
    kind: str = Field(description="complaint_received or complaint_resolved.")
    locale: str
    subject: str
    body: str = Field(description="The notice as the borrower received it (plain text).")
    created_at: datetime
    deliveries: list[DeliveryRead] = Field(
        description="Per channel: the inbox at once, external channels with retries."
    )


class ComplaintRead(Schema):
    complaint_id: str
    borrower_id: str
    decision_id: str
    contested: list[str]
    status: Literal["open", "reversal_pending", "upheld", "reversed"]
    filed_by: str = Field(description="borrower, operator:<id>, or api (access control off).")
    filed_at: datetime
    due_at: datetime = Field(description="The SLA deadline.")
    overdue: bool = Field(description="Still open past its deadline.")
    escalation: Literal["due_soon", "overdue"] | None
    escalated_at: datetime | None
    reviewer_name: str | None = Field(description="The agent who resolved or proposed reversal.")
    comment: str | None = Field(description="The agent's reason; shown to operators only.")
    approval_id: str | None = Field(description="The override request reversing the decision.")
    resolved_at: datetime | None
    notices: list[CaseNoticeRead] = Field(
        default_factory=list, description="What the borrower was told about the case."
    )


class BorrowerComplaintsRead(Schema):
    borrower_id: str
    complaints: list[ComplaintRead]


class ComplaintPageRead(Schema):
    items: list[ComplaintRead]
    total: int
    limit: int
    offset: int


class ReasonTextRead(Schema):
    code: str
    text: str = Field(description="In the requested locale.")
    texts: dict[str, str] = Field(description="Every locale's text.")


class DecisionLineageRead(Schema):
    """The contested decision as logged, and how the policy arrived at it."""

    decision_id: str
    run_id: str
    as_of: datetime
    pd: float
    tier: int
    model_version: str
    policy_version: str
    policy_hash: str
    rule_id: str
    states: dict[str, Any]
    reasons: list[ReasonTextRead]
    requires_approval: bool
    notice_days: int
    max_days: int | None
    review_after_days: int | None
    guardrail: str | None
    overlay_id: str | None = Field(
        default=None, description="The emergency overlay that tightened the policy's outcome."
    )
    input_hash: str
    inputs: dict[str, Any]
    explanation: dict[str, Any] | None = Field(
        description="The policy's trace: rows and cells, outcome, what would change it."
    )
    explained_with: str | None
    note: str | None = Field(description="Why there is no explanation, if there is none.")


class CurrentMethodsRead(Schema):
    """The borrower's entitlement now."""

    in_force: dict[str, Any]
    states: dict[str, Any] = Field(description="Decided states (after any notice period).")
    effective_at: datetime
    expires_at: datetime | None
    rule_id: str
    decision_id: str
    reasons: list[str]


class ComplaintCaseRead(Schema):
    complaint: ComplaintRead
    statement: str = Field(description="The borrower's words (reading it is audited).")
    decision: DecisionLineageRead | None
    current: CurrentMethodsRead | None


class ReversalIn(Schema):
    """What the override sets; left out: the methods in force with the contested ones open."""

    auto_debit: Literal["optional", "mandatory", "disabled"] | None = None
    early_repayment: Literal["allowed", "restricted"] | None = None
    manual: Literal["allowed", "forced"] | None = None
    manual_channels: Annotated[list[str], Field(min_length=1, max_length=8)] | None = None
    days: int | None = Field(default=None, ge=1, le=365, description="Default: reversal_days.")
    reasons: Annotated[list[str], Field(min_length=1, max_length=4)] = Field(
        default_factory=lambda: ["MANUAL_OVERRIDE"]
    )


class ResolveIn(Schema):
    outcome: Literal["uphold", "reverse"] = Field(
        description="uphold: the decision stands; reverse: a manual override a second person "
        "approves."
    )
    comment: str = Field(min_length=1, max_length=2_000, description="Why (operators only).")
    reversal: ReversalIn | None = None
