"""Policies for a notebook: load a shipped, file or published policy; decide and explain frames.

``load_policy`` takes what ``repayguard policy`` takes — the shipped default, a shipped policy
by name, a YAML file (checked like ``policy check``), or a published version from a data
directory's policy store (hash verified) — and gives a :class:`FramePolicy`, whose
``evaluate`` decides every row of a frame exactly as ``repayguard policy eval`` decides each
JSON line, and whose ``explain`` says per row which row decided, why, and what would change it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from repayguard import policies, resources
from repayguard.core.policy import CompiledPolicy, InputSpec, Policy
from repayguard.core.policy.counterfactual import WHY_NONE, Alternative
from repayguard.core.policy.explain import explain as explain_one
from repayguard.core.reasons import CATALOG, LOCALES
from repayguard.errors import InvalidInput
from repayguard.notebook.frames import to_polars, with_id
from repayguard.notebook.inputs import typed_inputs
from repayguard.notebook.store import read_store

SHIPPED: Final = {"cn-default": "policies/cn-default.yaml",
                  "eu-example": "policies/eu-example.yaml",
                  "us-example": "policies/us-example.yaml"}  # fmt: skip
"""Policies shipped with repayguard by name; ``cn-default`` is the one a new store publishes."""
DEFAULT: Final = "cn-default"
EXPLAIN_SCHEMA: Final = pl.Schema(
    {
        "rule_id": pl.String(), "decided_by": pl.String(), "why": pl.String(),
        "reasons": pl.List(pl.String()), "reason_texts": pl.List(pl.String()),
        "auto_debit": pl.String(), "early_repayment": pl.String(), "manual": pl.String(),
        "manual_channels": pl.List(pl.String()), "guardrail": pl.String(),
        "what_would_change": pl.List(pl.String()), "why_none": pl.String(),
    }
)  # fmt: skip
"""Columns of :meth:`FramePolicy.explain` (after ``borrower_id`` when the input has it)."""


@dataclass(frozen=True, slots=True)
class FramePolicy:
    """A checked, compiled policy that decides frames (pandas, Polars, …) row by row."""

    compiled: CompiledPolicy
    source: str
    """Where it came from: ``shipped:NAME``, a file path, or ``store:NAME@VERSION``."""

    @property
    def document(self) -> Policy:
        """The policy document (rows, inputs, channels) as checked."""
        return self.compiled.policy

    @property
    def name(self) -> str:
        return self.compiled.policy.name

    @property
    def version(self) -> str:
        """The published version number, or ``draft`` for a file or a shipped document."""
        return self.compiled.version

    @property
    def content_hash(self) -> str:
        return self.compiled.content_hash

    @property
    def inputs(self) -> Mapping[str, InputSpec]:
        """The declared inputs a frame's columns are matched to, by name."""
        return self.compiled.policy.inputs

    def evaluate(self, frame: Any) -> Any:
        """The policy's decision for every row of ``frame``, row-aligned, as the same kind of
        frame: ``borrower_id`` when the input has it, then ``rule_id`` (the deciding row),
        ``auto_debit``, ``early_repayment``, ``manual``, ``manual_channels``, ``reasons``,
        ``requires_approval``, ``notice_days``, ``max_days``, ``review_after_days``, ``keep``
        (the borrower's current methods stay, when they have any) and ``rule_ids`` (every
        matching row). Columns are matched to the policy's inputs by name; extra columns are
        ignored. Raises PolicyInputsInvalid for a missing column, a column of the wrong type or
        a value that does not fit (each bad row named by position)."""
        native, kind = to_polars(frame, what="frame")
        decided = self.compiled.evaluate(typed_inputs(self.compiled, native))
        return kind.back(with_id(native, decided))

    def explain(self, frame: Any, *, locale: str = "en") -> Any:
        """Why each row of ``frame`` is decided as it is, as the same kind of frame:
        ``decided_by`` (the deciding row's description), ``why`` (its cells on this row's
        values), ``reasons`` and ``reason_texts`` (in ``locale``: ``en`` or ``zh-CN``), the
        methods applied after the runtime guardrails (``guardrail`` says what was adjusted),
        and ``what_would_change``: the smallest changes of actionable inputs that give freer
        methods, smallest first (else ``why_none`` says why there are none). Each row costs a
        search: explain the rows you look at (``df.head(20)``), evaluate the whole book."""
        if locale not in LOCALES:
            raise InvalidInput(f"unknown locale {locale!r}", hint=f"use one of {LOCALES}")
        native, kind = to_polars(frame, what="frame")
        typed = typed_inputs(self.compiled, native)
        rows = [self._explained(inputs, locale) for inputs in typed.iter_rows(named=True)]
        return kind.back(with_id(native, pl.DataFrame(rows, schema=EXPLAIN_SCHEMA, orient="row")))

    def _explained(self, inputs: dict[str, Any], locale: str) -> dict[str, Any]:
        trace = explain_one(self.compiled, inputs)
        deciding = [r for r in trace.rows if r.status == "decided"] or [
            r for r in trace.rows if r.status == "matched"
        ]
        codes = list(trace.outcome["reasons"])
        return {
            "rule_id": trace.outcome["rule_id"],
            "decided_by": "; ".join(r.description for r in deciding) or None,
            "why": "; ".join(f"{c.input}: {c.why}" for r in deciding for c in r.cells) or None,
            "reasons": codes,
            "reason_texts": [CATALOG[c][locale] if c in CATALOG else c for c in codes],
            **trace.applied,
            "guardrail": trace.guardrail,
            "what_would_change": [_suggestion(a) for a in trace.what_would_change],
            "why_none": WHY_NONE[trace.why_none][locale] if trace.why_none else None,
        }


def _suggestion(alternative: Alternative) -> str:
    """One suggestion in words: ``dpd_now 45 → 0, failed_debits_30d 3 → 1: row X loosens
    manual``."""
    moves = ", ".join(
        f"{c.input} {c.before} → {c.after}{' (follows)' if c.derived else ''}"
        for c in alternative.changes
    )
    return f"{moves}: {alternative.rule_id} loosens {', '.join(alternative.loosens)}"


def load_policy(
    source: str | Path | None = None,
    *,
    data_dir: str | Path | None = None,
    version: int | None = None,
) -> FramePolicy:
    """A policy to evaluate frames with.

    - ``load_policy()``: the shipped default (``cn-default``, what a new store publishes);
    - ``load_policy("eu-example")``: a shipped policy by name (:data:`SHIPPED`);
    - ``load_policy("my-policy.yaml")``: a policy file, checked like ``repayguard policy check``;
    - ``load_policy(data_dir=".repayguard")``: the policy in force in that data directory's
      store (the latest published version of ``decisions.policy_name``); give a name and a
      ``version`` for another published version.

    Raises PolicyRejected for a file with problems (each listed), PolicyVersionNotFound for a
    version the store does not hold, InvalidInput for a name that is neither.
    """
    if data_dir is not None:
        return _published(None if source is None else str(source), data_dir, version)
    if version is not None:
        raise InvalidInput(
            "a published version is read from a data directory's policy store",
            hint="pass data_dir= (the folder 'repayguard serve' uses) with the version",
        )
    known = policies.profiles()
    name = DEFAULT if source is None else str(source)
    if name in SHIPPED:
        policy = policies.load_policy_text(resources.read_text(SHIPPED[name]), profiles=known)
        return FramePolicy(policies.compile_checked(policy, profiles=known), f"shipped:{name}")
    path = Path(name).expanduser()
    if not path.is_file():
        raise InvalidInput(
            f"{name!r} is neither a policy file nor a shipped policy",
            hint=f"give a YAML file, one of {', '.join(SHIPPED)}, or data_dir= for a "
            "published version",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path}: {exc}") from exc
    policy = policies.load_policy_text(text, profiles=known)
    return FramePolicy(policies.compile_checked(policy, profiles=known), str(path))


def _published(name: str | None, data_dir: str | Path, version: int | None) -> FramePolicy:
    with read_store(data_dir) as store:
        wanted = name or store.settings.decisions.policy_name
        found = policies.get_version(policies.GetPolicyVersion(wanted, version), uow=store.uow())
    assert found.policy is not None  # one version read: its verified policy comes with it
    compiled = policies.compile_checked(found.policy, profiles=policies.profiles())
    return FramePolicy(compiled, f"store:{wanted}@{found.version}")
