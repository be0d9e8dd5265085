"""API and CLI bodies of playbooks and overlays (apart from the ORM rows and the core)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from repayguard.overlays.models import OverlayRow, PlaybookRow
from repayguard.platform.dto import SQL_INTEGER_MAX, Schema
from repayguard.platform.records import record_of


class PlaybookRead(Schema):
    """One playbook version as listed and shown."""

    name: str = Field(description="The playbook's name.", examples=["market-shock"])
    version: int = Field(description="Its version (a version never changes).", examples=[1])
    content_hash: str = Field(description="SHA-256 of the document.")
    state: str = Field(description="submitted or approved (only approved ones can be armed).")
    submitted_by: str = Field(description="Who submitted it.")
    submitted_at: datetime = Field(description="When.")
    approved_by: str | None = Field(description="Who approved it in advance, if anyone.")
    approved_at: datetime | None = Field(description="When it was approved.")
    content: dict[str, Any] = Field(description="The playbook document.")

    @classmethod
    def of(cls, row: PlaybookRow) -> PlaybookRead:
        return record_of(cls, row, content=dict(row.content))


class OverlayRead(Schema):
    """One overlay and where it stands."""

    overlay_id: str = Field(description="The overlay's id.")
    playbook_name: str = Field(description="The playbook armed.")
    playbook_version: int = Field(description="Its version.")
    playbook_hash: str = Field(description="SHA-256 of that playbook version.")
    armed_by: str = Field(description="Who armed it.")
    incident_id: str | None = Field(description="The incident it answers, if any.")
    armed_at: datetime = Field(description="When it was armed.")
    expires_at: datetime = Field(description="When it ends by itself.")
    review_due_at: datetime = Field(description="When a second person must have reviewed it.")
    state: str = Field(description="active, lifted, expired or lapsed.")
    reason: str = Field(description="Why it was armed.")
    reviewed_by: str | None = Field(description="Who reviewed it, if anyone.")
    reviewed_at: datetime | None = Field(description="When it was reviewed.")
    lifted_by: str | None = Field(description="Who lifted it, if anyone.")
    lifted_at: datetime | None = Field(description="When it was lifted.")

    @classmethod
    def of(cls, row: OverlayRow) -> OverlayRead:
        return cls.model_validate({name: getattr(row, name) for name in cls.model_fields})


class PlaybookSubmit(Schema):
    """A playbook document (YAML text) to store as a draft."""

    document: Annotated[str, Field(min_length=1, max_length=100_000)] = Field(
        description="The playbook document (YAML)."
    )


class OverlayArm(Schema):
    """Arm the latest approved version of ``playbook`` (or ``version``)."""

    playbook: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        description="The playbook's name.", examples=["market-shock"]
    )
    reason: Annotated[str, Field(min_length=1, max_length=2000)] = Field(
        description="Why it is armed."
    )
    version: Annotated[int | None, Field(ge=1, le=SQL_INTEGER_MAX)] = Field(
        default=None, description="The approved version to arm (default: the latest approved)."
    )


class OverlayLift(Schema):
    reason: Annotated[str, Field(max_length=2000)] = Field(
        default="", description="Why it is lifted."
    )
