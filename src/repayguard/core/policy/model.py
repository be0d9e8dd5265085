"""The policy document: a decision table from policy inputs to repayment-method controls.

A policy declares its manual repayment channels (and which are free to the borrower), its
inputs (name, type), and rows evaluated top to bottom under the ``first`` hit policy: the first
row whose every ``when`` cell matches decides. ``then`` is either ``keep`` (keep the borrower's
current methods) or method states; a method a row leaves out falls back to the last row, the
*default* row, which has no ``when`` and states every method. Cells are ZEN unary tests (see
:mod:`repayguard.core.policy.cells`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from repayguard.core.policy.cells import cell_text

AutoDebit = Literal["optional", "mandatory", "disabled"]
"""optional: the borrower may switch auto-debit on or off; mandatory: cannot switch it off;
disabled: no pulls (e.g. after repeated failed debits, which only create fees)."""
EarlyRepayment = Literal["allowed", "restricted"]
"""restricted: only full prepayment / a cool-down after a redraw."""
Manual = Literal["allowed", "forced"]
"""forced: the manual flow is the only flow; every payment is confirmed by the borrower."""
InputType = Literal["number", "string", "boolean"]
Jurisdiction = Literal["CN", "EU", "UK", "US"]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
RowId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=64)]
ReasonCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]
Days = Annotated[int, Field(ge=0, le=3650)]
CellText = Annotated[
    str,
    WithJsonSchema(
        {"type": ["string", "number", "boolean"], "description": "a ZEN unary test, e.g. >= 30"}
    ),
]
Version = Annotated[
    str, WithJsonSchema({"type": ["string", "integer"], "description": "published version"})
]


class HitPolicy(StrEnum):
    """How matching rows combine. Only ``first`` for now; ``collect`` (merge) will follow."""

    FIRST = "first"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Strict):
    """A manual repayment channel; ``free`` means the borrower pays no fee to use it."""

    free: bool
    description: str = ""


class InputSpec(_Strict):
    """A policy input: its type, allowed values for strings, and its meaning."""

    type: InputType
    enum: tuple[str, ...] | None = None
    description: str = ""


class Outputs(_Strict):
    """Method states a row sets; a method left out falls back to the default row's."""

    auto_debit: AutoDebit | None = None
    early_repayment: EarlyRepayment | None = None
    manual: Manual | None = None
    manual_channels: tuple[Name, ...] | None = None


def _cells(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: cell_text(v) if isinstance(v, bool | int | float) else v for k, v in value.items()
        }
    return value


class Row(_Strict):
    """One decision-table row: conditions, outputs, reasons and the decision's terms.

    ``notice_days``: advance notice before a restriction takes effect; ``max_days``: expiry of
    the restriction; ``review_after_days``: when it must be re-evaluated.
    """

    id: RowId
    description: str = ""
    when: Annotated[dict[Name, CellText], BeforeValidator(_cells)] = Field(default_factory=dict)
    then: Literal["keep"] | Outputs
    reasons: tuple[ReasonCode, ...] = ()
    requires_approval: bool = False
    notice_days: Days = 0
    max_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    review_after_days: Annotated[int, Field(ge=1, le=3650)] | None = None

    @property
    def keep(self) -> bool:
        """True when the row keeps the borrower's current methods."""
        return self.then == "keep"


@dataclass(frozen=True, slots=True)
class Methods:
    """The repayment-method states a row gives, after falling back to the default row.

    A None state means neither the row nor the default row states it (an invalid policy).
    """

    auto_debit: str | None
    early_repayment: str | None
    manual: str | None
    manual_channels: tuple[str, ...]


class Policy(_Strict):
    """A validated policy document (structure only; see ``load_policy`` for every check)."""

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=100)]
    version: Version
    owner: Annotated[str, Field(min_length=1)]
    jurisdiction: Jurisdiction
    description: str = ""
    channels: Annotated[dict[Name, Channel], Field(min_length=1)]
    inputs: dict[Name, InputSpec]
    hit_policy: HitPolicy = HitPolicy.FIRST
    rows: Annotated[tuple[Row, ...], Field(min_length=1)]

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def default_row(self) -> Row:
        """The last row, which every other row falls back to."""
        return self.rows[-1]

    @property
    def free_channels(self) -> frozenset[str]:
        """Declared channels that cost the borrower nothing."""
        return frozenset(name for name, ch in self.channels.items() if ch.free)

    def methods(self, row: Row) -> Methods:
        """Effective methods of a row; a ``keep`` row (no current methods) gets the default's."""
        base = self.default_row.then
        own = row.then if isinstance(row.then, Outputs) else Outputs()
        fallback = base if isinstance(base, Outputs) else Outputs()
        channels = own.manual_channels
        if channels is None:
            channels = fallback.manual_channels
        return Methods(
            auto_debit=own.auto_debit or fallback.auto_debit,
            early_repayment=own.early_repayment or fallback.early_repayment,
            manual=own.manual or fallback.manual,
            manual_channels=tuple(channels or ()),
        )


def policy_json_schema() -> dict[str, Any]:
    """JSON Schema of the policy document, for editor completion (shipped under schemas/)."""
    schema = Policy.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "repayguard policy"
    return schema
