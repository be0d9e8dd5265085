"""Per-record validation of a batch: every bad record gets its index, field and reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from repayguard.core.events import EVENT_TYPES, to_row, validate_event


@dataclass(frozen=True, slots=True)
class MalformedLine:
    """A file line that is not a JSON object; it is rejected like an invalid record."""

    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a record was rejected: the field (dotted path) and what is wrong with it."""

    field: str
    reason: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A rejected record: its index in the submitted batch or file, and every reason."""

    index: int
    event_id: str | None
    errors: tuple[FieldError, ...]
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ValidatedBatch:
    rows: list[dict[str, Any]]
    indices: list[int]
    rejections: list[Rejection]


def validate_records(records: Sequence[Any], *, offset: int = 0) -> ValidatedBatch:
    """Split records into storage rows and rejections; never raises for bad data."""
    rows: list[dict[str, Any]] = []
    indices: list[int] = []
    rejections: list[Rejection] = []
    for position, record in enumerate(records):
        index = offset + position
        if isinstance(record, MalformedLine):
            rejections.append(Rejection(index, None, (FieldError("(line)", record.reason),), {}))
            continue
        if not isinstance(record, Mapping):
            rejections.append(
                Rejection(index, None, (FieldError("(record)", _not_an_object(record)),), {})
            )
            continue
        try:
            event = validate_event(dict(record))
        except ValidationError as exc:
            event_id = record.get("event_id")
            rejections.append(
                Rejection(
                    index,
                    str(event_id)[:200] if event_id is not None else None,
                    _field_errors(exc, record),
                    record,
                )
            )
            continue
        rows.append(to_row(event))
        indices.append(index)
    return ValidatedBatch(rows, indices, rejections)


def _not_an_object(record: Any) -> str:
    return f"expected a JSON object with event fields, got {type(record).__name__}"


def _field_errors(exc: ValidationError, record: Mapping[str, Any]) -> tuple[FieldError, ...]:
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            got = record.get("type")
            reason = (
                "missing event type" if got is None else f"unknown event type {got!r}"
            ) + f"; expected one of: {', '.join(EVENT_TYPES)}"
            errors.append(FieldError("type", reason))
            continue
        if loc and loc[0] in EVENT_TYPES:
            loc = loc[1:]  # the discriminator tag pydantic puts first
        field = ".".join(loc) or "(record)"
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown field for this event type"
        errors.append(FieldError(field, reason))
    return tuple(errors)
