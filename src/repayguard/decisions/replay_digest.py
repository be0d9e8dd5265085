"""Canonical forms of logged decisions and entitlements, their digests, and what a replay found.

A replay compares the decision log and the entitlements field by field and digests both sides
the same way: one canonical JSON line per decision (in run order, then borrower) and per
entitlement (by borrower), folded into a sha256. Equal stores give equal digests whatever the
database: datetimes are written in UTC, floats by their shortest exact repr.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from repayguard.decisions.models import DecisionRow
from repayguard.entitlements import Entitlement

DECISION_FIELDS: Final = (
    "as_of", "pd", "tier", "model_version", "policy_version", "policy_hash", "rule_id",
    "auto_debit", "early_repayment", "manual", "manual_channels", "reasons",
    "requires_approval", "notice_days", "max_days", "review_after_days", "guardrail",
    "input_hash", "overlay_id",
)  # fmt: skip
"""What a replay recomputes and compares of each logged decision (ids aside)."""
OUTCOME_FIELDS: Final = (
    "rule_id", "auto_debit", "early_repayment", "manual", "manual_channels", "reasons",
    "requires_approval", "notice_days", "max_days", "review_after_days", "guardrail",
    "overlay_id",
)  # fmt: skip
"""The fields an emergency overlay sets: taken from the record when one changed a decision."""
ENTITLEMENT_FIELDS: Final = (
    "auto_debit", "early_repayment", "manual", "manual_channels", "reasons", "rule_id",
    "decision_id", "tier", "tier_since",
)  # fmt: skip
"""What a replay compares of each entitlement. Notice timing (interim states, effective,
expiry and review dates) is left out: notices and the scheduler move it outside decision runs."""


def canonical(value: Any) -> Any:
    """A value as the digest writes it: UTC ISO datetimes, lists for sequences, exact floats."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple | list):
        return [canonical(item) for item in value]
    return value


def stored_decision(row: DecisionRow) -> dict[str, Any]:
    """A logged decision's compared fields, canonical."""
    return {name: canonical(getattr(row, name)) for name in DECISION_FIELDS}


def replayed_decision(row: Mapping[str, Any]) -> dict[str, Any]:
    """A decision the core recomputed (a row of its decisions frame), canonical."""
    return {name: canonical(row[name]) for name in DECISION_FIELDS}


def entitlement_fields(entitlement: Entitlement) -> dict[str, Any]:
    """An entitlement's compared fields, canonical."""
    states = entitlement.states
    values = {
        "auto_debit": states.auto_debit,
        "early_repayment": states.early_repayment,
        "manual": states.manual,
        "manual_channels": states.manual_channels,
        "reasons": entitlement.reasons,
        "rule_id": entitlement.rule_id,
        "decision_id": entitlement.decision_id,
        "tier": entitlement.tier,
        "tier_since": entitlement.tier_since,
    }
    return {name: canonical(values[name]) for name in ENTITLEMENT_FIELDS}


class Digest:
    """A running sha256 over canonical lines, one per keyed record."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()

    def add(self, key: tuple[str, ...], fields: Mapping[str, Any]) -> None:
        self._hash.update(orjson.dumps([*key, fields], option=orjson.OPT_SORT_KEYS) + b"\n")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


@dataclass(frozen=True, slots=True)
class Divergence:
    """Where the replay differs from the store: the run (None: final entitlements), the
    borrower and the first differing field, with both values."""

    run_id: str | None
    borrower_id: str
    field: str
    stored: Any
    replayed: Any

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "borrower_id": self.borrower_id,
            "field": self.field,
            "stored": self.stored,
            "replayed": self.replayed,
        }


def first_difference(
    stored: Mapping[str, Any], replayed: Mapping[str, Any]
) -> tuple[str, Any, Any] | None:
    """The first field (in the canonical order) whose values differ, or None."""
    for name, value in stored.items():
        if replayed.get(name) != value:
            return name, value, replayed.get(name)
    return None


@dataclass(frozen=True, slots=True)
class RunAgreement:
    """How one recorded run replayed: decisions recomputed and equal, taken from the record
    (not recomputed: see ``note`` and docs/operations.md), and divergent."""

    run_id: str
    trigger: str
    as_of: datetime
    decisions: int
    recomputed: int
    from_record: int
    divergent: int
    note: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "trigger": self.trigger,
            "as_of": canonical(self.as_of),
            "decisions": self.decisions,
            "recomputed": self.recomputed,
            "from_record": self.from_record,
            "divergent": self.divergent,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class ReplayVerdict:
    """What ``repayguard replay --verify`` proved: per-run agreement, both digests of the
    decision log and of the entitlements, every divergence found (the first one first)."""

    runs: tuple[RunAgreement, ...]
    decisions_stored: str
    decisions_replayed: str
    entitlements_stored: str
    entitlements_replayed: str
    entitlements: int
    entitlements_from_record: int
    divergences: tuple[Divergence, ...] = field(default=())
    unverifiable: tuple[str, ...] = field(default=())
    """Runs that could not be recomputed at all (their policy, model or bands are not
    available): the replay then cannot conclude, whatever the digests say."""

    @property
    def identical(self) -> bool:
        """Every recomputed decision and entitlement equals the store's, and so do the
        digests; False as soon as one thing differs."""
        return (
            not self.divergences
            and self.decisions_stored == self.decisions_replayed
            and self.entitlements_stored == self.entitlements_replayed
        )

    @property
    def verdict(self) -> str:
        if not self.identical:
            return "divergent"
        return "inconclusive" if self.unverifiable else "identical"

    def as_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "decisions": {"stored": self.decisions_stored, "replayed": self.decisions_replayed},
            "entitlements": {
                "stored": self.entitlements_stored,
                "replayed": self.entitlements_replayed,
                "count": self.entitlements,
                "from_record": self.entitlements_from_record,
            },
            "runs": [run.as_json() for run in self.runs],
            "divergences": [d.as_json() for d in self.divergences],
            "unverifiable": list(self.unverifiable),
        }
