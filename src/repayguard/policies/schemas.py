"""API shapes of policies: submissions, check results, versions, diff, impact and explanations."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, model_validator

from repayguard.platform.dto import SQL_INTEGER_MAX, Schema

MAX_SOURCE = 1_000_000


class PolicySourceIn(Schema):
    """A policy document as YAML text (the same text ``repayguard policy check`` reads)."""

    source: str = Field(
        min_length=1, max_length=MAX_SOURCE, description="The policy document (YAML)."
    )
    submitted_by: str | None = Field(
        default=None, max_length=120, description="who submits (the token's operator if any)"
    )


class ProblemRead(Schema):
    row_id: str | None = Field(description="The row the problem is in, if it is in one.")
    field: str = Field(description="The field the problem is in.", examples=["when"])
    message: str = Field(description="The problem, in words.")
    counter_example: dict[str, Any] | None = Field(
        description="Inputs that show it (for a guardrail the policy breaks), if any."
    )


class CheckRead(Schema):
    """The outcome of every static check: ``valid`` with no problems, or every problem."""

    valid: bool = Field(description="Whether the policy passes every check.")
    name: str | None = Field(description="The policy's name, when it could be read.")
    content_hash: str | None = Field(description="SHA-256 of the canonical policy, if valid.")
    problems: list[ProblemRead] = Field(description="Every finding (empty when valid).")


class DraftRead(Schema):
    draft_id: str = Field(description="The draft's id.")
    name: str = Field(description="The policy's name.", examples=["cn-consumer-credit-line"])
    stated_version: str | None = Field(description="The version the document states, if any.")
    content_hash: str = Field(description="SHA-256 of the canonical policy.")
    rows: int = Field(description="How many rows the policy has.")
    submitted_by: str = Field(description="Who submitted it.")
    submitted_at: datetime = Field(description="When.")
    published_version: int | None = Field(description="The version it became, if published.")


class VersionRead(Schema):
    name: str = Field(description="The policy's name.", examples=["cn-consumer-credit-line"])
    version: int = Field(description="The published version number.", examples=[2])
    content_hash: str = Field(description="SHA-256 of the canonical policy.")
    jurisdiction: str = Field(description="The jurisdiction profile it was checked against.")
    hit_policy: str = Field(description="How rows combine (first, …).", examples=["first"])
    rows: int = Field(description="How many rows the policy has.")
    draft_id: str = Field(description="The draft it was published from.")
    published_by: str = Field(description="Who published it (the approver).")
    published_at: datetime = Field(description="When.")


class VersionDetail(VersionRead):
    source: str = Field(description="the YAML as its author wrote it")
    document: dict[str, Any] = Field(description="the canonical policy the hash covers")


class VersionPage(Schema):
    items: list[VersionRead] = Field(description="This page of versions.")
    total: int = Field(description="Versions matching the filter, over all pages.")
    limit: int = Field(description="The page size asked for.")
    offset: int = Field(description="How many matching versions come before this page.")


class PolicyRefIn(Schema):
    """Exactly one of: YAML ``source``, a ``draft_id``, or a published ``name`` (and
    ``version``; the latest when left out)."""

    source: str | None = Field(
        default=None, max_length=MAX_SOURCE, description="A policy document (YAML)."
    )
    draft_id: str | None = Field(default=None, max_length=32, description="A stored draft.")
    name: str | None = Field(default=None, max_length=100, description="A published policy's name.")
    version: int | None = Field(
        default=None,
        ge=1,
        le=SQL_INTEGER_MAX,
        description="Its version (default: the latest).",
    )

    @model_validator(mode="after")
    def _one_form(self) -> PolicyRefIn:
        given = [self.source is not None, self.draft_id is not None, self.name is not None]
        if sum(given) != 1:
            raise ValueError("give exactly one of source, draft_id or name")
        if self.version is not None and self.name is None:
            raise ValueError("version goes with name")
        return self


class DiffIn(Schema):
    before: PolicyRefIn = Field(description="The policy compared from.")
    after: PolicyRefIn = Field(description="The policy compared to.")


class FieldChangeRead(Schema):
    field: str = Field(description="The field that differs.")
    before: Any = Field(description="Its value before.")
    after: Any = Field(description="Its value after.")


class RowChangeRead(Schema):
    row_id: str = Field(description="The row.")
    kind: Literal["added", "removed", "changed", "moved"] = Field(
        description="What happened to it."
    )
    before_position: int | None = Field(description="Its position before (if it was there).")
    after_position: int | None = Field(description="Its position after (if it is there).")
    changes: list[FieldChangeRead] = Field(description="Its fields that differ.")


class DiffRead(Schema):
    before: dict[str, Any] = Field(description="Name, version and hash of the policy before.")
    after: dict[str, Any] = Field(description="Name, version and hash of the policy after.")
    empty: bool = Field(description="True when nothing differs.")
    counts: dict[str, int] = Field(description="Rows added, removed, changed and moved.")
    document: list[FieldChangeRead] = Field(description="Top-level fields that differ.")
    inputs: list[FieldChangeRead] = Field(description="Declared inputs that differ.")
    channels: list[FieldChangeRead] = Field(description="Declared channels that differ.")
    rows: list[RowChangeRead] = Field(description="Rows that differ.")


class ImpactIn(Schema):
    candidate: PolicyRefIn = Field(description="The policy to preview.")
    samples: int = Field(default=5, ge=0, le=50, description="borrowers per method and direction")


class TransitionRead(Schema):
    method: str = Field(description="The repayment method.")
    from_: str | None = Field(alias="from", description="Its state now.")
    to: str | None = Field(description="Its state under the candidate.")
    direction: Literal["tighten", "loosen"] = Field(description="Which way it changes.")
    borrowers: int = Field(description="How many borrowers it changes for.")


class ImpactRead(Schema):
    """What the candidate would change: per method and tier, tighten and loosen counts."""

    policy: dict[str, Any] = Field(description="Name, version and hash of the candidate.")
    borrowers: int = Field(description="Borrowers previewed.")
    changed: int = Field(description="Borrowers whose outcome would change.")
    without_entitlement: int = Field(description="Borrowers with no entitlement yet.")
    guardrail_adjusted: int = Field(description="Outcomes a guardrail would adjust.")
    by_method: dict[str, dict[str, int]] = Field(
        description="Per method: tighten and loosen counts."
    )
    by_tier: list[dict[str, Any]] = Field(description="Per risk tier: the counts.")
    transitions: list[TransitionRead] = Field(description="Each state change and its count.")
    samples: list[dict[str, Any]] = Field(description="A few borrowers that would change.")


class MethodStatesIn(Schema):
    auto_debit: Literal["optional", "mandatory", "disabled"] = Field(
        description="The auto-debit state."
    )
    early_repayment: Literal["allowed", "restricted"] = Field(
        description="The early-repayment state."
    )
    manual: Literal["allowed", "forced"] = Field(description="The manual-repayment state.")
    manual_channels: list[str] = Field(description="The manual channels allowed.")


class ExplainIn(Schema):
    policy: PolicyRefIn = Field(description="The policy to explain.")
    inputs: dict[str, Any] = Field(description="input name -> JSON value (dates YYYY-MM-DD)")
    current: MethodStatesIn | None = Field(
        default=None, description="the borrower's current methods (resolve a keep outcome)"
    )


class CellTraceRead(Schema):
    input: str = Field(description="The input the cell tests.")
    value: Any = Field(description="The input's value.")
    cell: str = Field(description="The cell's expression.", examples=[">= 3"])
    verdict: Literal["match", "no match", "error"] = Field(description="What the cell said.")
    why: str = Field(description="Why, in words.")


class RowTraceRead(Schema):
    row_id: str = Field(description="The row.")
    position: int = Field(description="Its position in the policy (from 1).")
    description: str = Field(description="The row's description.")
    status: Literal["decided", "matched", "not matched", "not reached"] = Field(
        description="What the row did for these inputs."
    )
    cells: list[CellTraceRead] = Field(description="Its cells' verdicts.")


class ChangeRead(Schema):
    input: str = Field(description="The policy input that would change.")
    from_: Any = Field(alias="from", description="Its value now.")
    to: Any = Field(description="The value that would change the outcome.")


class AlternativeRead(Schema):
    """Changes made together that give a less restrictive row; ``distance`` orders them."""

    changes: list[ChangeRead] = Field(description="The input changes, together.")
    rule_id: str = Field(description="The row that would decide then.")
    states: dict[str, Any] = Field(description="The states it would decide.")
    loosens: list[str] = Field(description="The methods it would give back.")
    distance: float = Field(description="How large the change is (smallest first).")


class TraceRead(Schema):
    """How one input was decided: rows tested, outcome, guardrail, what would change it."""

    policy: dict[str, Any] = Field(description="Name, version and hash of the policy.")
    inputs: dict[str, Any] = Field(description="The inputs explained.")
    rows: list[RowTraceRead] = Field(description="Every row and what it did.")
    outcome: dict[str, Any] = Field(description="The deciding row's outcome.")
    applied: dict[str, Any] = Field(description="The states after guardrails.")
    guardrail: str | None = Field(description="The guardrail that adjusted them, if any.")
    what_would_change: list[AlternativeRead] = Field(description="What would change it.")
    why_none: str | None = Field(
        default=None, description="Why nothing would change the outcome (when the list is empty)."
    )
    why_none_text: str | None = Field(default=None, description="That reason in words.")
