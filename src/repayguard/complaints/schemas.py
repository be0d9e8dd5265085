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

    notice_id: str = Field(description="The notice's id.", examples=["n-19c2"])
    kind: str = Field(description="complaint_received or complaint_resolved.")
    locale: str = Field(description="The locale it was written in.", examples=["en"])
    subject: str = Field(description="The notice's subject line.")
    body: str = Field(description="The notice as the borrower received it (plain text).")
    created_at: datetime = Field(description="When it was written.")
    deliveries: list[DeliveryRead] = Field(
        description="Per channel: the inbox at once, external channels with retries."
    )


class ComplaintRead(Schema):
    complaint_id: str = Field(description="The case's id.", examples=["c-4b7e"])
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    decision_id: str = Field(description="The decision (its log entry).", examples=["d-7f3a9c"])
    contested: list[str] = Field(
        description="What the borrower contests.", examples=[["auto_debit"]]
    )
    status: Literal["open", "reversal_pending", "upheld", "reversed"] = Field(
        description="Where the case is: open, waiting for a reversal's approval, or closed "
        "(upheld or reversed).",
        examples=["open"],
    )
    filed_by: str = Field(description="borrower, operator:<id>, or api (access control off).")
    filed_at: datetime = Field(description="When the complaint was filed.")
    due_at: datetime = Field(description="The SLA deadline.")
    overdue: bool = Field(description="Still open past its deadline.")
    escalation: Literal["due_soon", "overdue"] | None = Field(
        description="How far the case was escalated for its deadline, if at all."
    )
    escalated_at: datetime | None = Field(description="When it was last escalated.")
    reviewer_name: str | None = Field(description="The agent who resolved or proposed reversal.")
    comment: str | None = Field(description="The agent's reason; shown to operators only.")
    approval_id: str | None = Field(description="The override request reversing the decision.")
    resolved_at: datetime | None = Field(description="When the case was closed, if it is.")
    notices: list[CaseNoticeRead] = Field(
        default_factory=list, description="What the borrower was told about the case."
    )


class BorrowerComplaintsRead(Schema):
    borrower_id: str = Field(description="The borrower.", examples=["B-1042"])
    complaints: list[ComplaintRead] = Field(description="The borrower's cases, newest first.")


class ComplaintPageRead(Schema):
    items: list[ComplaintRead] = Field(description="This page of cases.")
    total: int = Field(description="Cases matching the filter, over all pages.", examples=[12])
    limit: int = Field(description="The page size asked for.", examples=[50])
    offset: int = Field(description="How many matching cases come before this page.", examples=[0])


class ReasonTextRead(Schema):
    code: str = Field(description="Stable reason code.", examples=["REPEATED_FAILED_DEBITS"])
    text: str = Field(description="In the requested locale.")
    texts: dict[str, str] = Field(description="Every locale's text.")


class DecisionLineageRead(Schema):
    """The contested decision as logged, and how the policy arrived at it."""

    decision_id: str = Field(description="The decision (its log entry).", examples=["d-7f3a9c"])
    run_id: str = Field(description="The decision run that made it.")
    as_of: datetime = Field(description="The moment the decision was taken as of.")
    pd: float = Field(description="The model's probability of default.", examples=[0.042])
    tier: int = Field(description="The risk tier it fell in.", examples=[2])
    model_version: str = Field(description="The risk model version used.", examples=["expert-v1"])
    policy_version: str = Field(description="The policy version used.", examples=["1"])
    policy_hash: str = Field(description="The SHA-256 of that policy version's content.")
    rule_id: str = Field(description="The policy row that decided.", examples=["failed-debits"])
    states: dict[str, Any] = Field(description="The method states decided.")
    reasons: list[ReasonTextRead] = Field(description="The decision's reasons, with their text.")
    requires_approval: bool = Field(description="Whether the row needed a checker's approval.")
    notice_days: int = Field(description="Days of advance notice before a tightening applies.")
    max_days: int | None = Field(description="The longest a restriction may last, if bounded.")
    review_after_days: int | None = Field(description="Days after which it is reviewed, if set.")
    guardrail: str | None = Field(description="The guardrail that adjusted the outcome, if any.")
    overlay_id: str | None = Field(
        default=None, description="The emergency overlay that tightened the policy's outcome."
    )
    input_hash: str = Field(description="The SHA-256 of the inputs (replay proves it).")
    inputs: dict[str, Any] = Field(description="The policy inputs the decision saw.")
    explanation: dict[str, Any] | None = Field(
        description="The policy's trace: rows and cells, outcome, what would change it."
    )
    explained_with: str | None = Field(description="The policy version the explanation used.")
    note: str | None = Field(description="Why there is no explanation, if there is none.")


class CurrentMethodsRead(Schema):
    """The borrower's entitlement now."""

    in_force: dict[str, Any] = Field(description="The method states in force now.")
    states: dict[str, Any] = Field(description="Decided states (after any notice period).")
    effective_at: datetime = Field(description="Since when the decided states apply.")
    expires_at: datetime | None = Field(description="When a time-limited restriction ends.")
    rule_id: str = Field(description="The policy row that decided.", examples=["failed-debits"])
    decision_id: str = Field(description="The decision (its log entry).", examples=["d-7f3a9c"])
    reasons: list[str] = Field(description="The decision's reason codes.")


class ComplaintCaseRead(Schema):
    complaint: ComplaintRead = Field(description="The case.")
    statement: str = Field(description="The borrower's words (reading it is audited).")
    decision: DecisionLineageRead | None = Field(description="The contested decision, if found.")
    current: CurrentMethodsRead | None = Field(description="The borrower's entitlement now.")


class ReversalIn(Schema):
    """What the override sets; left out: the methods in force with the contested ones open."""

    auto_debit: Literal["optional", "mandatory", "disabled"] | None = Field(
        default=None, description="The auto-debit state to set."
    )
    early_repayment: Literal["allowed", "restricted"] | None = Field(
        default=None, description="The early-repayment state to set."
    )
    manual: Literal["allowed", "forced"] | None = Field(
        default=None, description="The manual-repayment state to set."
    )
    manual_channels: Annotated[list[str], Field(min_length=1, max_length=8)] | None = Field(
        default=None, description="The manual channels to allow."
    )
    days: int | None = Field(default=None, ge=1, le=365, description="Default: reversal_days.")
    reasons: Annotated[list[str], Field(min_length=1, max_length=4)] = Field(
        default_factory=lambda: ["MANUAL_OVERRIDE"],
        description="The reason codes the override carries.",
    )


class ResolveIn(Schema):
    outcome: Literal["uphold", "reverse"] = Field(
        description="uphold: the decision stands; reverse: a manual override a second person "
        "approves."
    )
    comment: str = Field(min_length=1, max_length=2_000, description="Why (operators only).")
    reversal: ReversalIn | None = Field(
        default=None,
        description="For reverse: what the override sets (default: reopen the contested methods).",
    )
