"""What a maker submits for each kind of request: the payload documents, checked field by field
(the API publishes them in its schema; the CLI and the service validate with the same ones)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from repayguard.approvals.errors import ApprovalPayloadInvalid
from repayguard.platform.dto import SQL_INTEGER_MAX


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


D = TypeVar("D", bound=_Document)


class PolicyPublishDocument(_Document):
    """Publish a stored draft as the next version of its policy."""

    draft_id: Annotated[str, Field(min_length=1, max_length=32)] = Field(
        description="The policy draft to publish."
    )


class ModelPromoteDocument(_Document):
    """Put a registered model version into production."""

    version: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The registered model version.", examples=["gbm-2026-02"]
    )
    note: Annotated[str, Field(max_length=500)] = Field(default="", description="A note.")


class OverrideDocument(_Document):
    """Set one borrower's methods by hand, for ``days``, with reasons from the catalogue."""

    borrower_id: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The borrower.", examples=["B-1042"]
    )
    auto_debit: Literal["optional", "mandatory", "disabled"] = Field(
        description="The auto-debit state to set."
    )
    early_repayment: Literal["allowed", "restricted"] = Field(
        description="The early-repayment state to set."
    )
    manual: Literal["allowed", "forced"] = Field(description="The manual-repayment state to set.")
    manual_channels: Annotated[list[str], Field(min_length=1, max_length=8)] = Field(
        description="The manual channels to allow.", examples=[["app_balance", "bank_card"]]
    )
    reasons: Annotated[list[str], Field(min_length=1, max_length=4)] = Field(
        default=["MANUAL_OVERRIDE"], description="The reason codes the override carries."
    )
    days: Annotated[int, Field(ge=1, le=365)] = Field(description="How long it lasts, in days.")
    notice_days: Annotated[int, Field(ge=0, le=90)] = Field(
        default=0, description="Days of notice before a tightening applies."
    )
    note: Annotated[str, Field(max_length=1000)] = Field(default="", description="A note.")


class EmergencyReviewDocument(_Document):
    """Review, after the fact, an emergency action taken without prior approval."""

    action_id: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="The emergency action's id."
    )
    action: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="What was done."
    )
    taken_at: AwareDatetime = Field(description="When it was done.")
    taken_by: Annotated[str | None, Field(max_length=64)] = Field(
        default=None, description="Who did it."
    )
    scope: Annotated[str, Field(max_length=500)] = Field(
        default="", description="Whom or what it affected."
    )
    description: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        description="What the action was and why it could not wait."
    )


class PlaybookApproveDocument(_Document):
    """Approve a submitted emergency playbook version, so operators and detectors may arm it."""

    name: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The playbook's name."
    )
    # Within the Integer column it is looked up in: a larger one is invalid input (422), not a
    # driver error (a 500 on PostgreSQL).
    version: Annotated[int, Field(ge=1, le=SQL_INTEGER_MAX)] = Field(
        description="The playbook version."
    )


def parse(document: type[D], given: Mapping[str, Any]) -> D:
    """The maker's payload as ``document``; ApprovalPayloadInvalid with every field error."""
    try:
        return document.model_validate(dict(given))
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]}
            for e in exc.errors(include_url=False)
        ]
        raise ApprovalPayloadInvalid(
            f"the payload does not describe a {document.__doc__ or 'request'}".rstrip("."),
            errors=errors,
        ) from exc
