"""Compile a policy once into a vectorized (Polars) form and a row form that agree exactly.

Both forms come from the same typed intermediate form (:mod:`ir`) and apply the policy's hit
policy: ``first`` (the first matching row decides) or ``collect`` (every matching row applies,
merged to the most restrictive; see :mod:`outcome`). The default row applies when no other row
matches; without one, such inputs get the fallback flagged ``rule_id = "(no-match)"``. A
``keep`` outcome carries the default (baseline) methods with ``keep = True`` and the caller
substitutes the borrower's current methods when it has them. Inputs must carry their declared
types (number/integer: int or float, string: str, boolean: bool, date: ``datetime.date``; a
frame may hold dates as ``YYYY-MM-DD`` text) or be null/missing; NaN counts as null.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping
from typing import Any

import polars as pl

from repayguard.core.policy.ir import PolicyIR, build_ir
from repayguard.core.policy.jurisdiction import JurisdictionProfile
from repayguard.core.policy.model import Policy
from repayguard.core.policy.outcome import RowDecision
from repayguard.core.policy.rowcode import compile_rows
from repayguard.core.policy.rowform import Predicate, RowEvaluator, cell_predicate
from repayguard.core.policy.vectorized import (
    DECISION_SCHEMA,
    DTYPES,
    OUTPUT_SCHEMA,
    VectorEvaluator,
    cell_expr,
)

__all__ = [
    "DECISION_SCHEMA",
    "DTYPES",
    "OUTPUT_SCHEMA",
    "CompiledPolicy",
    "Predicate",
    "RowDecision",
    "canonical_json",
    "cell_expr",
    "cell_predicate",
    "compile_policy",
    "content_hash",
]


def canonical_json(policy: Policy) -> str:
    """The policy as canonical JSON: sorted keys, no spacing, UTF-8 text."""
    return json.dumps(
        policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


def content_hash(policy: Policy) -> str:
    """sha256 (hex) of :func:`canonical_json`; equal content, equal hash."""
    return hashlib.sha256(canonical_json(policy).encode("utf-8")).hexdigest()


class CompiledPolicy:
    """A policy compiled once; ``evaluate`` (frames) and ``evaluate_row`` (dicts) agree exactly.

    ``profile`` is the jurisdiction profile the runtime guardrail enforces (G2), when given.
    ``lineage_hash`` replaces the hash decisions name in their lineage (the sha256 of an
    unpublished file's bytes); by default it is the canonical content's.
    """

    __slots__ = (
        "_rows",
        "_vector",
        "content_hash",
        "evaluate_row",
        "input_types",
        "ir",
        "memo",
        "policy",
        "profile",
        "version",
    )

    def __init__(
        self,
        policy: Policy,
        profile: JurisdictionProfile | None = None,
        *,
        lineage_hash: str | None = None,
    ) -> None:
        self.policy = policy
        self.profile = profile
        self.version = policy.version or "draft"
        self.content_hash = lineage_hash or content_hash(policy)
        self.ir: PolicyIR = build_ir(policy)
        self.input_types = {name: spec.type for name, spec in policy.inputs.items()}
        self._rows = RowEvaluator(self.ir)
        self._vector = VectorEvaluator(self.ir, self._rows.merged)
        self.evaluate_row = compile_rows(self.ir, known=self._rows.known, merged=self._rows.merged)
        """The decision for one borrower's inputs (a mapping; missing names are null)."""
        self.memo: dict[Hashable, Any] = {}
        """What is derived from this version alone, kept once computed (e.g. the regions of
        an input that explanations search): a compiled policy never changes."""

    @property
    def hit_policy(self) -> str:
        return str(self.ir.hit_policy)

    @property
    def default_outputs(self) -> dict[str, Any]:
        """What applies to a borrower no row catches (the default row, else the baseline)."""
        out = self.ir.fallback.as_dict()
        out.pop("rule_ids")
        return out

    @property
    def inputs_used(self) -> tuple[str, ...]:
        """Input names some row tests, sorted."""
        return self.ir.inputs_used

    def first_hit(self, inputs: Mapping[str, Any]) -> int:
        """Index in ``policy.rows`` of the first matching row (the default row when none
        other matches), or -1 when no row matches."""
        found = self._rows.first_hit(inputs)
        if found >= 0:
            return self.ir.rows[found].index
        return len(self.policy.rows) - 1 if self.ir.default is not None else -1

    def matched(self, inputs: Mapping[str, Any]) -> tuple[str, ...]:
        """Ids of every conditional row whose cells all match, in table order."""
        return tuple(self.ir.rows[i].id for i in self._rows.matched(inputs))

    def first_hit_expr(self) -> pl.Expr:
        """Vectorized index of the deciding conditional row (UInt32), the fallback last."""
        return self._vector.first_hit_expr()

    def typed_inputs(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The used inputs of ``frame`` cast to their evaluation types, NaN as null."""
        return self._vector.typed_inputs(frame)

    def decide(self, frame: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
        """The decisions of ``frame`` dictionary-encoded: per row an index into a small table
        of the distinct outcomes (:data:`OUTPUT_SCHEMA`); ``evaluate`` gathers it out."""
        return self._vector.decide(frame)

    def evaluate(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Decide every row of ``frame`` (one row per borrower); result is row-aligned.

        Columns: :data:`OUTPUT_SCHEMA` (:data:`DECISION_SCHEMA` plus ``rule_ids``, every
        matching row). Extra input columns are ignored.
        """
        return self._vector.evaluate(frame)


def compile_policy(
    policy: Policy,
    *,
    profile: JurisdictionProfile | None = None,
    lineage_hash: str | None = None,
) -> CompiledPolicy:
    """Compile a policy accepted by ``load_policy`` (cells that parse and fit their inputs)."""
    return CompiledPolicy(policy, profile, lineage_hash=lineage_hash)
