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


_TYPE: Final = "The event type; selects the fields below."


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Identifier = Field(
        description="The sender's unique id of the event; a resent id is a duplicate, ignored.",
        examples=["e-000123"],
    )
    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="The payload version (1).", examples=[1]
    )
    borrower_id: Identifier = Field(description="The borrower it is about.", examples=["B-1042"])
    loan_id: Identifier | None = Field(
        default=None, description="The loan it is about, if any.", examples=["B-1042-L1"]
    )
    occurred_at: UtcDatetime = Field(
        description="When it happened, with a time zone (stored in UTC).",
        examples=["2026-02-27T09:30:00Z"],
    )


class CreditReport(_Event):
    """A bureau pull: score, hard inquiries in the last 90 days, debt held elsewhere."""

    type: Literal["credit_report"] = Field(description=_TYPE)
    kind: Literal["report"] = Field(default="report", description="Always report.")
    score: Annotated[float, Field(ge=300, le=900)] = Field(
        description="The bureau score (300 to 900).", examples=[680]
    )
    inquiries: Annotated[int, Field(ge=0, le=1000)] = Field(
        description="Hard inquiries in the last 90 days.", examples=[2]
    )
    external_debt: Money = Field(
        description="Debt the borrower holds with other lenders.", examples=[4200.0]
    )


class Behaviour(_Event):
    """Something the borrower did in the app that risk cares about."""

    type: Literal["behaviour"] = Field(description=_TYPE)
    kind: Literal["login", "device_change", "contact_change"] = Field(
        description="What the borrower did.", examples=["device_change"]
    )


class Transaction(_Event):
    """Money in or out of the borrower's linked account, or a balance reading."""

    type: Literal["transaction"] = Field(description=_TYPE)
    kind: Literal["inflow", "outflow", "balance"] = Field(
        description="Money in, money out, or a balance reading.", examples=["inflow"]
    )
    amount: Money | None = Field(
        default=None,
        description="The amount moved (required for inflow and outflow).",
        examples=[1500.0],
    )
    balance: Annotated[float, Field(allow_inf_nan=False)] = Field(
        description="The account balance after it.", examples=[2300.0]
    )

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

    type: Literal["repayment"] = Field(description=_TYPE)
    kind: Literal["due", "paid", "auto_debit_attempt"] = Field(
        description="An instalment falling due, a payment, or an auto-debit attempt.",
        examples=["paid"],
    )
    loan_id: Identifier = Field(description="The loan repaid.", examples=["B-1042-L1"])
    amount: Money = Field(description="The instalment or payment amount.", examples=[250.0])
    method: Literal["auto_debit", "manual"] | None = Field(
        default=None, description="How it was paid (required when paid).", examples=["manual"]
    )
    channel: ChannelName | None = Field(
        default=None,
        description="The manual channel it was paid through (required for a manual payment).",
        examples=["bank_card"],
    )
    status: Literal["succeeded", "failed"] | None = Field(
        default=None,
        description="The outcome of an auto-debit attempt (required for one).",
        examples=["failed"],
    )
    early: bool | None = Field(
        default=None, description="Whether it was paid ahead of the due date.", examples=[False]
    )

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

    type: Literal["loan"] = Field(description=_TYPE)
    kind: Literal["drawdown", "limit_change"] = Field(
        description="A drawdown, or a new credit limit.", examples=["drawdown"]
    )
    loan_id: Identifier = Field(description="The loan.", examples=["B-1042-L1"])
    amount: Money = Field(description="The amount drawn, or the new limit.", examples=[3000.0])


class MarketSignal(BaseModel):
    """A named market series value (unemployment, a funding spread); not tied to a borrower."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Identifier = Field(
        description="The sender's unique id of the event; a resent id is a duplicate, ignored.",
        examples=["m-000045"],
    )
    type: Literal["market_signal"] = Field(description=_TYPE)
    schema_version: Literal[1] = Field(
        default=SCHEMA_VERSION, description="The payload version (1).", examples=[1]
    )
    borrower_id: None = Field(default=None, description="Always absent: not about a borrower.")
    loan_id: None = Field(default=None, description="Always absent: not about a loan.")
    occurred_at: UtcDatetime = Field(
        description="The date the value is for, with a time zone.",
        examples=["2026-02-01T00:00:00Z"],
    )
    kind: Literal["value"] = Field(default="value", description="Always value.")
    series: Identifier = Field(description="The market series.", examples=["unemployment_rate"])
    value: Annotated[float, Field(allow_inf_nan=False)] = Field(
        description="The series' value.", examples=[5.2]
    )


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
