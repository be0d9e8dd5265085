"""The messages a decision run emits: the run completed (with its lineage), and the decisions
the runtime guardrail replaced."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from repayguard.platform.messages import Fact, JSONValue


@dataclass(frozen=True, slots=True, kw_only=True)
class RunCompleted(Fact):
    """A decision run is written: what caused it, how many borrowers it decided, changed and
    held, and what decided (``lineage``: the decision log has no bands column, so the run's
    message, kept in the audit trail, names the bands with the rest)."""

    NAME = "repayguard.decisions.run_completed"

    run_id: str
    mode: str
    trigger: str
    as_of: datetime
    borrowers: int
    changed: int
    held: int
    lineage: dict[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardrailApplied(Fact):
    """The runtime guardrail replaced ``count`` decisions of a run (never silently): a sample
    of them in full."""

    NAME = "repayguard.guardrail.applied"

    run_id: str
    policy_version: str
    count: int
    decisions: tuple[dict[str, JSONValue], ...]


RUN_COMPLETED: Final = RunCompleted.NAME
GUARDRAIL_APPLIED: Final = GuardrailApplied.NAME
