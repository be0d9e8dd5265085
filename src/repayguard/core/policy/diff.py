"""A structured diff of two policy documents: metadata and evaluation cadence, inputs, channels,
rows and outputs.

Rows are matched by id. A row is *added*, *removed*, *changed* (a cell, an output, a reason or a
term differs -- stated or effective, since a row inherits what it leaves out from the default
row) or *moved* (its order among the common rows changed, which matters under ``first``).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from repayguard.core.policy.compiler import content_hash
from repayguard.core.policy.model import Outputs, Policy, Row

RowChangeKind = Literal["added", "removed", "changed", "moved"]
_META = ("name", "version", "owner", "jurisdiction", "description", "hit_policy")
_TERMS = ("reasons", "requires_approval", "notice_days", "max_days", "review_after_days")


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field that differs; ``None`` on a side means absent there."""

    field: str
    before: Any
    after: Any

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class RowChange:
    """What happened to one row (by id), with its positions (0-based) and field changes."""

    row_id: str
    kind: RowChangeKind
    before_position: int | None
    after_position: int | None
    changes: tuple[FieldChange, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "row_id": self.row_id,
            "kind": self.kind,
            "before_position": self.before_position,
            "after_position": self.after_position,
            "changes": [c.as_dict() for c in self.changes],
        }


@dataclass(frozen=True, slots=True)
class PolicyDiff:
    """Everything that differs between ``before`` and ``after``."""

    before: dict[str, Any]
    after: dict[str, Any]
    document: tuple[FieldChange, ...] = ()
    inputs: tuple[FieldChange, ...] = ()
    channels: tuple[FieldChange, ...] = ()
    rows: tuple[RowChange, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.document or self.inputs or self.channels or self.rows)

    def counts(self) -> dict[str, int]:
        """Rows added, removed, changed and moved."""
        out = dict.fromkeys(("added", "removed", "changed", "moved"), 0)
        for change in self.rows:
            out[change.kind] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "before": self.before,
            "after": self.after,
            "empty": self.empty,
            "counts": self.counts(),
            "document": [c.as_dict() for c in self.document],
            "inputs": [c.as_dict() for c in self.inputs],
            "channels": [c.as_dict() for c in self.channels],
            "rows": [c.as_dict() for c in self.rows],
        }


def _ref(policy: Policy) -> dict[str, Any]:
    return {"name": policy.name, "version": policy.version, "content_hash": content_hash(policy)}


def _mapping_changes(
    prefix: str, before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[FieldChange]:
    out = []
    for key in [*before, *(k for k in after if k not in before)]:
        old, new = before.get(key), after.get(key)
        if old != new:
            out.append(FieldChange(f"{prefix}.{key}", old, new))
    return out


def _dump(value: Any) -> Any:
    return value.model_dump(mode="json", exclude_defaults=True) if value is not None else None


def _stated(row: Row) -> dict[str, Any]:
    if isinstance(row.then, Outputs):
        return {k: v for k, v in row.then.model_dump(mode="json").items() if v is not None}
    return {"keep": True}


def _effective(policy: Policy, row: Row) -> dict[str, Any]:
    methods = policy.methods(row)
    return {
        "auto_debit": methods.auto_debit,
        "early_repayment": methods.early_repayment,
        "manual": methods.manual,
        "manual_channels": list(methods.manual_channels),
    }


def _row_changes(a: Policy, ra: Row, b: Policy, rb: Row) -> list[FieldChange]:
    changes = _mapping_changes("when", ra.when, rb.when)
    stated_a, stated_b = _stated(ra), _stated(rb)
    changes += _mapping_changes("then", stated_a, stated_b)
    if not ra.keep and not rb.keep:
        eff_a, eff_b = _effective(a, ra), _effective(b, rb)
        for key in eff_a:
            if eff_a[key] != eff_b[key] and stated_a.get(key) == stated_b.get(key):
                changes.append(FieldChange(f"effective.{key}", eff_a[key], eff_b[key]))
    for name in ("description", *_TERMS):
        old, new = getattr(ra, name), getattr(rb, name)
        if old != new:
            changes.append(FieldChange(name, _plain(old), _plain(new)))
    return changes


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def diff_policies(before: Policy, after: Policy) -> PolicyDiff:
    """The structured difference from ``before`` to ``after``."""
    document = [
        FieldChange(name, _plain(getattr(before, name)), _plain(getattr(after, name)))
        for name in _META
        if getattr(before, name) != getattr(after, name)
    ]
    # The evaluation cadence, one change per part (tiers, default, whole_book).
    document += _mapping_changes(
        "evaluation", _dump(before.evaluation) or {}, _dump(after.evaluation) or {}
    )
    inputs = _mapping_changes(
        "inputs",
        {k: _dump(v) for k, v in before.inputs.items()},
        {k: _dump(v) for k, v in after.inputs.items()},
    )
    channels = _mapping_changes(
        "channels",
        {k: _dump(v) for k, v in before.channels.items()},
        {k: _dump(v) for k, v in after.channels.items()},
    )
    pos_a = {row.id: i for i, row in enumerate(before.rows)}
    pos_b = {row.id: i for i, row in enumerate(after.rows)}
    common_a = [r.id for r in before.rows if r.id in pos_b]
    common_b = [r.id for r in after.rows if r.id in pos_a]
    kept_order: set[str] = set()
    matcher = difflib.SequenceMatcher(a=common_a, b=common_b, autojunk=False)
    for block in matcher.get_matching_blocks():
        kept_order.update(common_a[block.a : block.a + block.size])
    rows: list[RowChange] = []
    for row in after.rows:
        if row.id not in pos_a:
            rows.append(RowChange(row.id, "added", None, pos_b[row.id]))
            continue
        old = before.rows[pos_a[row.id]]
        changes = tuple(_row_changes(before, old, after, row))
        moved = row.id not in kept_order
        if changes or moved:
            kind: RowChangeKind = "changed" if changes else "moved"
            if moved and changes:
                changes = (FieldChange("position", pos_a[row.id], pos_b[row.id]), *changes)
            rows.append(RowChange(row.id, kind, pos_a[row.id], pos_b[row.id], changes))
    for row in before.rows:
        if row.id not in pos_b:
            rows.append(RowChange(row.id, "removed", pos_a[row.id], None))
    return PolicyDiff(
        _ref(before), _ref(after), tuple(document), tuple(inputs), tuple(channels), tuple(rows)
    )
