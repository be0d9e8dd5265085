"""API shapes of ingestion (request and response DTOs), apart from ORM rows and core frames."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from repayguard.platform.dto import Schema


class EventBatch(Schema):
    """A batch of events: each a flat JSON object (or with its payload under "payload")."""

    # Any JSON value per element: one that is not an object (a string, null, a number, an
    # array) is one invalid record, rejected with its index while the rest land — typing the
    # items as objects would refuse the whole batch for it.
    events: list[Any] = Field(
        description="Up to 10,000 events, each a JSON object of event fields, validated on its "
        "own: an invalid element, including one that is not an object (a record is a JSON "
        "object), is rejected with its index and reason and the others still land."
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
