"""The policy document: a decision table from policy inputs to repayment-method controls.

A policy declares its manual repayment channels (and which are free to the borrower), its typed
inputs, and rows whose ``when`` cells are ZEN unary tests (see
:mod:`repayguard.core.policy.cells`). Under the ``first`` hit policy the first row whose every
cell matches decides; under ``collect`` every matching row applies and their outputs merge to
the most restrictive (see :mod:`repayguard.core.policy.merge`). ``then`` is either ``keep``
(keep the borrower's current methods) or method states. The last row may be the *default* row
(no ``when``): it applies when no other row does, and a method another row leaves out falls
back to it. Without a default row, left-out methods fall back to the unrestricted baseline
(auto-debit optional, early repayment allowed, manual allowed on every declared channel) and
the static checks require the rows to cover every input. The optional ``evaluation`` section
says how often borrowers are re-decided (see :mod:`repayguard.core.policy.evaluation`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from repayguard.core.policy.cells import cell_text
from repayguard.core.policy.evaluation import Evaluation

AutoDebit = Literal["optional", "mandatory", "disabled"]
"""optional: the borrower may switch auto-debit on or off; mandatory: cannot switch it off;
disabled: no pulls (e.g. after repeated failed debits, which only create fees)."""
EarlyRepayment = Literal["allowed", "restricted"]
"""restricted: only full prepayment / a cool-down after a redraw."""
Manual = Literal["allowed", "forced"]
"""forced: the manual flow is the only flow; every payment is confirmed by the borrower."""
InputType = Literal["number", "integer", "string", "boolean", "date"]
"""number: any real; integer: whole numbers (counts, days); date: a calendar day, written in
cells as d("YYYY-MM-DD") and in JSON inputs as "YYYY-MM-DD"."""
Jurisdiction = Literal["CN", "EU", "UK", "US"]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
RowId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=64)]
ReasonCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]
Days = Annotated[int, Field(ge=0, le=3650)]
CellText = Annotated[
    str,
    WithJsonSchema(
        {
            "type": ["string", "number", "boolean"],
            "description": 'a ZEN unary test: >= 30, [1..29], "T4", "T5", != "T1", '
            'not in ["T1"], > 0 and < 5, d("2025-01-31"), null; "-" or "" for any value',
        }
    ),
]
Version = Annotated[
    str,
    WithJsonSchema(
        {
            "type": ["string", "integer"],
            "description": "the version this document is published as (assigned when omitted)",
        }
    ),
]


class HitPolicy(StrEnum):
    """How matching rows combine: the first match decides, or all matches merge (most
    restrictive state per method)."""

    FIRST = "first"
    COLLECT = "collect"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Strict):
    """A manual repayment channel; ``free`` means the borrower pays no fee to use it."""

    free: bool
    description: str = ""


class InputSpec(_Strict):
    """A policy input: its type, allowed values, whether it may be missing, and its meaning.

    ``enum`` (strings) and ``minimum``/``maximum`` (numbers, inclusive) bound the values the
    static checks consider; inputs outside them are refused at the evaluation boundary.
    ``nullable: false`` says the input is always present (null is then out of range).
    """

    type: InputType
    enum: Annotated[tuple[str, ...], Field(min_length=1)] | None = None
    nullable: bool = True
    minimum: float | None = None
    maximum: float | None = None
    description: str = ""


class Outputs(_Strict):
    """Method states a row sets; a method left out falls back to the default row's."""

    auto_debit: AutoDebit | None = Field(
        default=None,
        description="optional: the borrower may switch it off; mandatory: cannot; "
        "disabled: no pulls",
    )
    early_repayment: EarlyRepayment | None = Field(
        default=None, description="restricted: only full prepayment / a cool-down after redraw"
    )
    manual: Manual | None = Field(
        default=None, description="forced: every payment is made and confirmed by the borrower"
    )
    manual_channels: tuple[Name, ...] | None = Field(
        default=None, description="declared channels the borrower may repay through by hand"
    )


def _cells(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: cell_text(v) if isinstance(v, bool | int | float | date) else v
            for k, v in value.items()
        }
    return value


class Row(_Strict):
    """One decision-table row: conditions, outputs, reasons and the decision's terms.

    ``notice_days``: advance notice before a restriction takes effect; ``max_days``: expiry of
    the restriction; ``review_after_days``: when it must be re-evaluated.
    """

    id: RowId = Field(description="stable id of the row, quoted in decisions and diffs")
    description: str = ""
    when: Annotated[dict[Name, CellText], BeforeValidator(_cells)] = Field(
        default_factory=dict,
        description="input name -> ZEN unary test; every cell must match; none: the default row",
    )
    then: Literal["keep"] | Outputs = Field(
        description="keep: keep the borrower's current methods; or the method states to give"
    )
    reasons: tuple[ReasonCode, ...] = Field(default=(), description="reason codes, in order")
    requires_approval: bool = Field(default=False, description="a risk approver confirms it")
    notice_days: Days = Field(default=0, description="advance notice before a restriction")
    max_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None, description="the restriction expires after this many days (G4)"
    )
    review_after_days: Annotated[int, Field(ge=1, le=3650)] | None = Field(
        default=None, description="the restriction is re-evaluated after this many days (G4)"
    )

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

    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=100)] = Field(
        description="the policy's stable name; versions are numbered per name"
    )
    version: Version | None = None
    owner: Annotated[str, Field(min_length=1)] = Field(description="the accountable team")
    jurisdiction: Jurisdiction = Field(
        description="the legal profile (G2) that decides what may be restricted at all"
    )
    description: str = ""
    channels: Annotated[dict[Name, Channel], Field(min_length=1)] = Field(
        description="manual repayment channels; at least one must be free (G1)"
    )
    inputs: dict[Name, InputSpec] = Field(description="typed inputs the cells test")
    hit_policy: HitPolicy = Field(
        default=HitPolicy.FIRST,
        description="first: the first matching row decides; collect: all matching rows merge "
        "to the most restrictive state per method",
    )
    rows: Annotated[tuple[Row, ...], Field(min_length=1)] = Field(
        description="the decision table, top to bottom; an optional last row without "
        "conditions is the default"
    )
    evaluation: Evaluation | None = Field(
        default=None,
        # Left out of documents that do not state it, so a policy without the section keeps
        # its content hash (the hash covers the section like any field when it is there).
        exclude_if=lambda value: value is None,
        description="how often borrowers are re-decided: a cadence per tier and a whole-book "
        "run; absent: only events, reviews and operators re-decide",
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @property
    def default_row(self) -> Row | None:
        """The last row when it has no conditions: it applies when no other row does."""
        last = self.rows[-1]
        return None if last.when else last

    @property
    def free_channels(self) -> frozenset[str]:
        """Declared channels that cost the borrower nothing."""
        return frozenset(name for name, ch in self.channels.items() if ch.free)

    @property
    def baseline(self) -> Outputs:
        """What left-out methods fall back to: the default row's states, else unrestricted."""
        default = self.default_row
        if default is not None and isinstance(default.then, Outputs):
            return default.then
        return Outputs(
            auto_debit="optional",
            early_repayment="allowed",
            manual="allowed",
            manual_channels=tuple(self.channels),
        )

    def methods(self, row: Row) -> Methods:
        """Effective methods of a row; a ``keep`` row (no current methods) gets the baseline."""
        own = row.then if isinstance(row.then, Outputs) else Outputs()
        fallback = self.baseline
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
