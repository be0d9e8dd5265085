"""What a maker submits for each kind of request: the payload documents, checked field by field
(the API publishes them in its schema; the CLI and the service validate with the same ones)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from repayguard.errors import ApprovalPayloadInvalid


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


D = TypeVar("D", bound=_Document)


class PolicyPublishDocument(_Document):
    """Publish a stored draft as the next version of its policy."""

    draft_id: Annotated[str, Field(min_length=1, max_length=32)]


class ModelPromoteDocument(_Document):
    """Put a registered model version into production."""

    version: Annotated[str, Field(min_length=1, max_length=64)]
    note: Annotated[str, Field(max_length=500)] = ""


class OverrideDocument(_Document):
    """Set one borrower's methods by hand, for ``days``, with reasons from the catalogue."""

    borrower_id: Annotated[str, Field(min_length=1, max_length=64)]
    auto_debit: Literal["optional", "mandatory", "disabled"]
    early_repayment: Literal["allowed", "restricted"]
    manual: Literal["allowed", "forced"]
    manual_channels: Annotated[list[str], Field(min_length=1, max_length=8)]
    reasons: Annotated[list[str], Field(min_length=1, max_length=4)] = ["MANUAL_OVERRIDE"]
    days: Annotated[int, Field(ge=1, le=365)]
    notice_days: Annotated[int, Field(ge=0, le=90)] = 0
    note: Annotated[str, Field(max_length=1000)] = ""


class EmergencyReviewDocument(_Document):
    """Review, after the fact, an emergency action taken without prior approval."""

    action_id: Annotated[str, Field(min_length=1, max_length=100)]
    action: Annotated[str, Field(min_length=1, max_length=100)]
    taken_at: AwareDatetime
    taken_by: Annotated[str | None, Field(max_length=64)] = None
    scope: Annotated[str, Field(max_length=500)] = ""
    description: Annotated[str, Field(min_length=1, max_length=2000)]


class PlaybookApproveDocument(_Document):
    """Approve a submitted emergency playbook version, so operators and detectors may arm it."""

    name: Annotated[str, Field(min_length=1, max_length=64)]
    version: Annotated[int, Field(ge=1)]


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
