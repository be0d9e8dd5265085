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
    field: str = Field(description="The record's field that is wrong.", examples=["occurred_at"])
    reason: str = Field(description="Why, in words.", examples=["timestamp needs a time zone"])


class RejectionRead(Schema):
    index: int = Field(description="Position of the record in the submitted batch (from 0).")
    event_id: str | None = Field(
        description="The record's event_id, when it had a readable one.", examples=["e-000123"]
    )
    errors: list[FieldErrorRead] = Field(description="Every reason the record was refused.")


class IngestReportRead(Schema):
    batch_id: str = Field(
        description="The id this batch was recorded under.", examples=["b-5c1e2f"]
    )
    accepted: int = Field(description="Records stored by this batch.", examples=[998])
    duplicates: int = Field(
        description="Records whose event_id was already stored (ignored, not an error).",
        examples=[1],
    )
    rejected: int = Field(description="Records refused (see rejections).", examples=[1])
    rejections: list[RejectionRead] = Field(
        description="Each refused record with its index and reasons; the others still landed."
    )
