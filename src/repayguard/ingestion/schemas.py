"""API shapes of ingestion (request and response DTOs), apart from ORM rows and core frames."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from repayguard.platform.dto import Schema


class EventBatch(Schema):
    """A batch of events: each a flat JSON object (or with its payload under "payload")."""

    events: list[dict[str, Any]] = Field(
        description="Up to 10,000 events; each is validated on its own."
    )


class FieldErrorRead(Schema):
    field: str
    reason: str


class RejectionRead(Schema):
    index: int = Field(description="Position of the record in the submitted batch (from 0).")
    event_id: str | None
    errors: list[FieldErrorRead]


class IngestReportRead(Schema):
    batch_id: str
    accepted: int
    duplicates: int
    rejected: int
    rejections: list[RejectionRead]
