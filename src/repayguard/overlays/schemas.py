"""API and CLI bodies of playbooks and overlays (apart from the ORM rows and the core)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from repayguard.overlays.models import OverlayRow, PlaybookRow
from repayguard.platform.dto import Schema
from repayguard.platform.records import record_of


class PlaybookRead(Schema):
    """One playbook version as listed and shown."""

    name: str
    version: int
    content_hash: str
    state: str
    submitted_by: str
    submitted_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    content: dict[str, Any]

    @classmethod
    def of(cls, row: PlaybookRow) -> PlaybookRead:
        return record_of(cls, row, content=dict(row.content))

    def audit(self) -> dict[str, Any]:
        """The message payload (and audit record) of a step on this playbook."""
        return {
            "subject": f"playbook:{self.name}:{self.version}",
            "name": self.name,
            "version": self.version,
            "content_hash": self.content_hash,
            "state": self.state,
            "by": self.approved_by or self.submitted_by,
        }


class OverlayRead(Schema):
    """One overlay and where it stands."""

    overlay_id: str
    playbook_name: str
    playbook_version: int
    playbook_hash: str
    armed_by: str
    incident_id: str | None
    armed_at: datetime
    expires_at: datetime
    review_due_at: datetime
    state: str
    reason: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    lifted_by: str | None
    lifted_at: datetime | None

    @classmethod
    def of(cls, row: OverlayRow) -> OverlayRead:
        return cls.model_validate({name: getattr(row, name) for name in cls.model_fields})

    def audit(self, **extra: Any) -> dict[str, Any]:
        """The message payload (and audit record) of a step on this overlay."""
        return {
            "subject": f"overlay:{self.overlay_id}",
            **self.model_dump(mode="json"),
            **extra,
        }


class PlaybookSubmit(Schema):
    """A playbook document (YAML text) to store as a draft."""

    document: Annotated[str, Field(min_length=1, max_length=100_000)]


class OverlayArm(Schema):
    """Arm the latest approved version of ``playbook`` (or ``version``)."""

    playbook: Annotated[str, Field(min_length=1, max_length=64)]
    reason: Annotated[str, Field(min_length=1, max_length=2000)]
    version: Annotated[int | None, Field(ge=1)] = None


class OverlayLift(Schema):
    reason: Annotated[str, Field(max_length=2000)] = ""
