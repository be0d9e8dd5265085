"""Per-record validation of a batch: every bad record gets its index, field and reason."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from repayguard.core.events import EVENT_TYPES, to_row, validate_event


@dataclass(frozen=True, slots=True)
class EventWindow:
    """When an event may plausibly have occurred, seen from the server clock at ingestion: at
    most ``max_future`` ahead of it (clock skew between systems) and at most ``max_age`` old.
    A time outside is a broken clock or a typo (9999-12-31), and would otherwise sit in every
    borrower's history as the newest event forever."""

    max_future: timedelta
    max_age: timedelta

    def bounds(self, now: datetime) -> tuple[datetime, datetime]:
        """The earliest and latest plausible ``occurred_at`` at ``now``."""
        return now - self.max_age, now + self.max_future

    def refusal(self, occurred_at: datetime, now: datetime) -> FieldError | None:
        """Why ``occurred_at`` is implausible at ``now`` (None: it is plausible)."""
        earliest, latest = self.bounds(now)
        if occurred_at > latest:
            ahead = _span(occurred_at - now)
            limit = _exact(self.max_future)
            return FieldError(
                "occurred_at",
                f"occurred_at is {ahead} in the future; events may be at most {limit} "
                "ahead of the server clock",
            )
        if occurred_at < earliest:
            return FieldError(
                "occurred_at",
                f"occurred_at is {_span(now - occurred_at)} in the past; events may be at "
                f"most {_exact(self.max_age)} old",
            )
        return None


_UNITS: Final = (
    ("year", timedelta(days=365.25)),
    ("day", timedelta(days=1)),
    ("hour", timedelta(hours=1)),
    ("minute", timedelta(minutes=1)),
    ("second", timedelta(seconds=1)),
)


def _counted(count: int, unit: str) -> str:
    return f"{count:,} {unit}{'' if count == 1 else 's'}"


def _span(delta: timedelta) -> str:
    """How far a time is off, in its largest whole unit, rounded down ("7,973 years")."""
    for unit, size in _UNITS:
        if delta >= size:
            return _counted(delta // size, unit)
    return "under a second"


def _exact(limit: timedelta) -> str:
    """A configured limit exactly, in the largest unit below years that divides it ("5
    minutes", "3,650 days")."""
    for unit, size in _UNITS[1:]:
        if limit >= size and not limit % size:
            return _counted(limit // size, unit)
    return _counted(int(limit.total_seconds()), "second")


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
    """A rejected record: its index in the submitted batch or file, every reason, and the
    record as it was sent (any JSON value: an array element need not be an object)."""

    index: int
    event_id: str | None
    errors: tuple[FieldError, ...]
    raw: Any


@dataclass(frozen=True, slots=True)
class ValidatedBatch:
    rows: list[dict[str, Any]]
    indices: list[int]
    rejections: list[Rejection]


def validate_records(
    records: Sequence[Any], *, now: datetime, window: EventWindow, offset: int = 0
) -> ValidatedBatch:
    """Split records into storage rows and rejections; never raises for bad data. An event
    whose ``occurred_at`` lies outside ``window`` at ``now`` is rejected like any invalid one."""
    rows: list[dict[str, Any]] = []
    indices: list[int] = []
    rejections: list[Rejection] = []
    for position, record in enumerate(records):
        index = offset + position
        if isinstance(record, MalformedLine):
            rejections.append(Rejection(index, None, (FieldError("(line)", record.reason),), None))
            continue
        if not isinstance(record, Mapping):
            rejections.append(
                Rejection(index, None, (FieldError("(record)", _not_an_object(record)),), record)
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
        refusal = window.refusal(event.occurred_at, now)
        if refusal is not None:
            rejections.append(Rejection(index, event.event_id, (refusal,), record))
            continue
        rows.append(to_row(event))
        indices.append(index)
    return ValidatedBatch(rows, indices, rejections)


_JSON_NAMES: Final = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}


def _not_an_object(record: Any) -> str:
    if record is None:
        got = "null"
    elif isinstance(record, list | tuple):
        got = "an array"
    else:
        got = _JSON_NAMES.get(type(record), type(record).__name__)
    return f"a record is a JSON object of event fields; got {got}"


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
