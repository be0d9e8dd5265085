"""API shapes of policies: submissions, check results, versions, diff, impact and explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from repayguard.platform.dto import SQL_INTEGER_MAX, Schema

MAX_SOURCE = 1_000_000


class PolicySourceIn(Schema):
    """A policy document as YAML text (the same text ``repayguard policy check`` reads)."""

    source: str = Field(min_length=1, max_length=MAX_SOURCE)
    submitted_by: str | None = Field(
        default=None, max_length=120, description="who submits (the token's operator if any)"
    )


class ProblemRead(Schema):
    row_id: str | None
    field: str
    message: str
    counter_example: dict[str, Any] | None


class CheckRead(Schema):
    """The outcome of every static check: ``valid`` with no problems, or every problem."""

    valid: bool
    name: str | None
    content_hash: str | None
    problems: list[ProblemRead]


class DraftRead(Schema):
    draft_id: str
    name: str
    stated_version: str | None
    content_hash: str
    rows: int
    submitted_by: str
    submitted_at: datetime
    published_version: int | None


class VersionRead(Schema):
    name: str
    version: int
    content_hash: str
    jurisdiction: str
    hit_policy: str
    rows: int
    draft_id: str
    published_by: str
    published_at: datetime


class VersionDetail(VersionRead):
    source: str = Field(description="the YAML as its author wrote it")
    document: dict[str, Any] = Field(description="the canonical policy the hash covers")


class VersionPage(Schema):
    items: list[VersionRead]
    total: int
    limit: int
    offset: int


class PolicyRefIn(Schema):
    """Exactly one of: YAML ``source``, a ``draft_id``, or a published ``name`` (and
    ``version``; the latest when left out)."""

    source: str | None = Field(default=None, max_length=MAX_SOURCE)
    draft_id: str | None = Field(default=None, max_length=32)
    name: str | None = Field(default=None, max_length=100)
    version: int | None = Field(default=None, ge=1, le=SQL_INTEGER_MAX)

    @model_validator(mode="after")
    def _one_form(self) -> PolicyRefIn:
        given = [self.source is not None, self.draft_id is not None, self.name is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of source, draft_id or name")
        if self.version is not None and self.name is None:
            raise ValueError("version goes with name")
        return self


class DiffIn(Schema):
    before: PolicyRefIn
    after: PolicyRefIn


class FieldChangeRead(Schema):
    field: str
    before: Any
    after: Any


class RowChangeRead(Schema):
    row_id: str
    kind: Literal["added", "removed", "changed", "moved"]
    before_position: int | None
    after_position: int | None
    changes: list[FieldChangeRead]


class DiffRead(Schema):
    before: dict[str, Any]
    after: dict[str, Any]
    empty: bool
    counts: dict[str, int]
    document: list[FieldChangeRead]
    inputs: list[FieldChangeRead]
    channels: list[FieldChangeRead]
    rows: list[RowChangeRead]


class ImpactIn(Schema):
    candidate: PolicyRefIn
    samples: int = Field(default=5, ge=0, le=50, description="borrowers per method and direction")


class TransitionRead(Schema):
    method: str
    from_: str | None = Field(alias="from")
    to: str | None
    direction: Literal["tighten", "loosen"]
    borrowers: int


class ImpactRead(Schema):
    """What the candidate would change: per method and tier, tighten and loosen counts."""

    policy: dict[str, Any]
    borrowers: int
    changed: int
    without_entitlement: int
    guardrail_adjusted: int
    by_method: dict[str, dict[str, int]]
    by_tier: list[dict[str, Any]]
    transitions: list[TransitionRead]
    samples: list[dict[str, Any]]


class MethodStatesIn(Schema):
    auto_debit: Literal["optional", "mandatory", "disabled"]
    early_repayment: Literal["allowed", "restricted"]
    manual: Literal["allowed", "forced"]
    manual_channels: list[str]


class ExplainIn(Schema):
    policy: PolicyRefIn
    inputs: dict[str, Any] = Field(description="input name -> JSON value (dates YYYY-MM-DD)")
    current: MethodStatesIn | None = Field(
        default=None, description="the borrower's current methods (resolve a keep outcome)"
    )


class CellTraceRead(Schema):
    input: str
    value: Any
    cell: str
    verdict: Literal["match", "no match", "error"]
    why: str


class RowTraceRead(Schema):
    row_id: str
    position: int
    description: str
    status: Literal["decided", "matched", "not matched", "not reached"]
    cells: list[CellTraceRead]


class ChangeRead(Schema):
    input: str
    from_: Any = Field(alias="from")
    to: Any


class AlternativeRead(Schema):
    """Changes made together that give a less restrictive row; ``distance`` orders them."""

    changes: list[ChangeRead]
    rule_id: str
    states: dict[str, Any]
    loosens: list[str]
    distance: float


class TraceRead(Schema):
    """How one input was decided: rows tested, outcome, guardrail, what would change it."""

    policy: dict[str, Any]
    inputs: dict[str, Any]
    rows: list[RowTraceRead]
    outcome: dict[str, Any]
    applied: dict[str, Any]
    guardrail: str | None
    what_would_change: list[AlternativeRead]
    why_none: str | None = Field(
        default=None, description="Why nothing would change the outcome (when the list is empty)."
    )
    why_none_text: str | None = None
