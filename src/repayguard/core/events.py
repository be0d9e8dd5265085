"""Event schemas: the contract of ingestion, the generator and the feature code.

Every event has an envelope (``event_id``, ``type``, ``schema_version``, ``borrower_id``,
``loan_id``, ``occurred_at``) and a typed payload whose fields depend on ``type`` and ``kind``.
On the wire (REST, JSONL, CSV, Parquet) an event is one *flat* record: envelope and payload
fields side by side; JSON may also nest the payload under ``"payload"``. In storage and in the
decision core all events share one columnar layout, :data:`EVENT_SCHEMA`, where payload fields a
type does not use are null.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal

import polars as pl
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

SCHEMA_VERSION: Final = 1
"""The payload version this code writes; readers accept every version listed in VERSIONS."""

EVENT_TYPES: Final = (
    "credit_report",
    "behaviour",
    "transaction",
    "repayment",
    "loan",
    "market_signal",
)

AUTO_DEBIT: Final = "auto_debit"
MANUAL: Final = "manual"
REPAYMENT_METHODS: Final = (AUTO_DEBIT, MANUAL)
MANUAL_CHANNELS: Final = ("app_balance", "bank_card", "bank_transfer", "counter")

EVENT_SCHEMA: Final = pl.Schema(
    {
        "event_id": pl.String(),
        "type": pl.String(),
        "schema_version": pl.Int16(),
        "borrower_id": pl.String(),
        "loan_id": pl.String(),
        "occurred_at": pl.Datetime("us", "UTC"),
        "kind": pl.String(),
        "amount": pl.Float64(),
        "balance": pl.Float64(),
        "method": pl.String(),
        "channel": pl.String(),
        "status": pl.String(),
        "early": pl.Boolean(),
        "score": pl.Float64(),
        "inquiries": pl.Int32(),
        "external_debt": pl.Float64(),
        "series": pl.String(),
        "value": pl.Float64(),
    }
)
"""Columnar layout of stored events, in column order. Unused payload fields are null."""

PAYLOAD_FIELDS: Final = tuple(EVENT_SCHEMA.names()[6:])


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp needs a time zone (for example 2026-01-31T09:00:00Z)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC: not a time at all
        raise ValueError("timestamp is out of range once converted to UTC") from None


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
Money = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Identifier = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$")]
ChannelName = Annotated[str, Field(max_length=16, pattern=r"^[a-z][a-z0-9_]*$")]
"""A manual repayment channel as policies declare them (``bank_card``, ``sepa_transfer``, …):
channels are the lender's data, not a fixed list, and a payment made through a channel a later
policy version no longer declares still happened. At most 16 characters: the stored column's
width."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Identifier
    schema_version: Literal[1] = SCHEMA_VERSION
    borrower_id: Identifier
    loan_id: Identifier | None = None
    occurred_at: UtcDatetime


class CreditReport(_Event):
    """A bureau pull: score, hard inquiries in the last 90 days, debt held elsewhere."""

    type: Literal["credit_report"]
    kind: Literal["report"] = "report"
    score: Annotated[float, Field(ge=300, le=900)]
    inquiries: Annotated[int, Field(ge=0, le=1000)]
    external_debt: Money


class Behaviour(_Event):
    """Something the borrower did in the app that risk cares about."""

    type: Literal["behaviour"]
    kind: Literal["login", "device_change", "contact_change"]


class Transaction(_Event):
    """Money in or out of the borrower's linked account, or a balance reading."""

    type: Literal["transaction"]
    kind: Literal["inflow", "outflow", "balance"]
    amount: Money | None = None
    balance: Annotated[float, Field(allow_inf_nan=False)]

    @model_validator(mode="after")
    def _amount_for_flows(self) -> Transaction:
        if self.kind != "balance" and self.amount is None:
            raise ValueError(f"a transaction of kind {self.kind!r} needs an amount")
        return self


class Repayment(_Event):
    """An instalment falling due, a payment, or an auto-debit attempt.

    ``paid`` carries the method (auto_debit or manual), the channel for manual payments and
    whether it was paid ahead of the due date (``early``). ``auto_debit_attempt`` carries
    ``status`` succeeded/failed; a succeeded attempt is followed by its ``paid`` event.
    """

    type: Literal["repayment"]
    kind: Literal["due", "paid", "auto_debit_attempt"]
    loan_id: Identifier
    amount: Money
    method: Literal["auto_debit", "manual"] | None = None
    channel: ChannelName | None = None
    status: Literal["succeeded", "failed"] | None = None
    early: bool | None = None

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Repayment:
        if self.kind == "paid" and self.method is None:
            raise ValueError("a payment needs its method (auto_debit or manual)")
        if self.kind == "paid" and self.method == "manual" and self.channel is None:
            raise ValueError("a manual payment needs its channel")
        if self.kind == "auto_debit_attempt" and self.status is None:
            raise ValueError("an auto-debit attempt needs its status (succeeded or failed)")
        return self


class Loan(_Event):
    """A drawdown on the credit line (amount drawn) or a new credit limit (amount = limit)."""

    type: Literal["loan"]
    kind: Literal["drawdown", "limit_change"]
    loan_id: Identifier
    amount: Money


class MarketSignal(BaseModel):
    """A named market series value (unemployment, a funding spread); not tied to a borrower."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Identifier
    type: Literal["market_signal"]
    schema_version: Literal[1] = SCHEMA_VERSION
    borrower_id: None = None
    loan_id: None = None
    occurred_at: UtcDatetime
    kind: Literal["value"] = "value"
    series: Identifier
    value: Annotated[float, Field(allow_inf_nan=False)]


Event = Annotated[
    CreditReport | Behaviour | Transaction | Repayment | Loan | MarketSignal,
    Field(discriminator="type"),
]
EVENT_ADAPTER: Final[TypeAdapter[Event]] = TypeAdapter(Event)


def normalise_record(record: dict[str, Any]) -> dict[str, Any]:
    """Bring one wire record to the flat form: unnest ``payload``, drop null/empty fields.

    Files with a column per field give every record every column; a null or empty cell there
    means the field is absent, so it must not trip ``extra="forbid"`` of the typed schema.
    """
    flat = dict(record)
    payload = flat.pop("payload", None)
    if isinstance(payload, dict):
        for key, value in payload.items():
            flat.setdefault(key, value)
    elif payload is not None:
        flat["payload"] = payload  # let validation name it as a bad field
    return {k: v for k, v in flat.items() if v is not None and v != ""}


def validate_event(record: dict[str, Any]) -> Event:
    """Validate one flat (or payload-nested) wire record; raises pydantic.ValidationError."""
    return EVENT_ADAPTER.validate_python(normalise_record(record))


def to_row(event: Event) -> dict[str, Any]:
    """The storage row of a validated event, with every column of EVENT_SCHEMA present."""
    data = event.model_dump()
    return {name: data.get(name) for name in EVENT_SCHEMA.names()}


def empty_events() -> pl.DataFrame:
    """An event frame with no rows and the storage layout."""
    return pl.DataFrame(schema=EVENT_SCHEMA)
