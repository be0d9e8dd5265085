"""Review use-cases: diff two policies, preview a candidate's impact, explain one decision.

A policy to review is named by a :data:`PolicyRef`: YAML text (checked first), a stored draft,
or a published version (the latest when no number is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import polars as pl
from sqlalchemy.orm import Session

from repayguard import entitlements
from repayguard.core.policy import Policy, PolicyInvalid, Profiles, parse_policy
from repayguard.core.policy.diff import PolicyDiff, diff_policies
from repayguard.core.policy.explain import Trace, explain
from repayguard.core.policy.impact import PORTFOLIO_SCHEMA, ImpactReport, preview
from repayguard.core.policy.inputs import InputsInvalid, coerce_inputs
from repayguard.errors import PolicyInputsInvalid
from repayguard.platform.uow import UnitOfWork
from repayguard.policies import repository
from repayguard.policies.errors import PolicyDraftNotFound, PolicyVersionNotFound
from repayguard.policies.service import verified
from repayguard.policies.sources import compile_checked, load_policy_text, rejected


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A policy given as YAML text."""

    text: str


@dataclass(frozen=True, slots=True)
class DraftRef:
    """A stored draft."""

    draft_id: str


@dataclass(frozen=True, slots=True)
class VersionRef:
    """A published version; the latest of ``name`` when ``version`` is None."""

    name: str
    version: int | None = None


PolicyRef = SourceRef | DraftRef | VersionRef


class PortfolioReader(Protocol):
    """Reads the portfolio's latest decision inputs: one row per borrower with ``borrower_id``,
    ``tier`` (number) and ``inputs`` (the canonical JSON of the policy inputs)."""

    def __call__(self, session: Session, /) -> pl.DataFrame: ...


@dataclass(frozen=True, slots=True)
class DiffPolicies:
    """What changes from ``before`` to ``after``."""

    before: PolicyRef
    after: PolicyRef


@dataclass(frozen=True, slots=True)
class PreviewImpact:
    """What ``candidate`` would change over the current portfolio; ``samples`` borrowers per
    method and direction."""

    candidate: PolicyRef
    samples: int = 5


@dataclass(frozen=True, slots=True)
class ExplainInputs:
    """Explain the decision ``policy`` makes for one set of inputs (JSON values); ``current``
    method states resolve a ``keep``."""

    policy: PolicyRef
    inputs: Mapping[str, Any]
    current: Mapping[str, Any] | None = None


def resolve(
    ref: PolicyRef, *, session: Session | None, profiles: Profiles, checked: bool = True
) -> Policy:
    """The policy a reference names; text must pass every check (only parse when not
    ``checked``: a diff may show a policy that would still be refused). Drafts and versions
    need a ``session``."""
    if isinstance(ref, SourceRef):
        if not checked:
            try:
                return parse_policy(ref.text)
            except PolicyInvalid as invalid:
                raise rejected(invalid.problems) from invalid
        return load_policy_text(ref.text, profiles=profiles)
    if session is None:
        raise ValueError("a draft or a published version is read from the database")
    if isinstance(ref, DraftRef):
        draft = repository.get_draft(session, ref.draft_id)
        if draft is None:
            raise PolicyDraftNotFound(f"no policy draft {ref.draft_id!r}")
        return Policy.model_validate(draft.document)
    row = repository.get_version(session, ref.name, ref.version)
    if row is None:
        which = f"version {ref.version}" if ref.version is not None else "any version"
        raise PolicyVersionNotFound(
            f"no published {which} of policy {ref.name!r}",
            hint="list them with 'repayguard policy list'",
        )
    return verified(row)


def _resolve_all(
    refs: tuple[PolicyRef, ...], *, uow: UnitOfWork | None, profiles: Profiles, checked: bool
) -> list[Policy]:
    """Resolve references, in one read-only unit of work when one is given (files need none)."""
    if uow is None:
        return [resolve(r, session=None, profiles=profiles, checked=checked) for r in refs]
    with uow:
        return [resolve(r, session=uow.session, profiles=profiles, checked=checked) for r in refs]


def diff(cmd: DiffPolicies, *, uow: UnitOfWork | None, profiles: Profiles) -> PolicyDiff:
    """The structured difference between two policies (text is parsed, not checked);
    ``uow`` is needed only for drafts and published versions."""
    before, after = _resolve_all((cmd.before, cmd.after), uow=uow, profiles=profiles, checked=False)
    return diff_policies(before, after)


def current_states(session: Session) -> pl.DataFrame:
    """Every borrower's current method states (the decided ones, notice periods aside)."""
    rows = [
        {"borrower_id": e.borrower_id, **e.states.as_dict()}
        for e in entitlements.load(session).values()
    ]
    schema = {k: v for k, v in PORTFOLIO_SCHEMA.items() if k not in ("tier", "inputs")}
    return pl.DataFrame(rows, schema=schema)


def preview_impact(
    cmd: PreviewImpact, *, uow: UnitOfWork, profiles: Profiles, portfolio: PortfolioReader
) -> ImpactReport:
    """Apply the candidate to every borrower's latest inputs and compare with their current
    methods (see :func:`repayguard.core.policy.impact.preview`). Nothing is written."""
    with uow:
        session = uow.session
        policy = resolve(cmd.candidate, session=session, profiles=profiles)
        latest = portfolio(session).select("borrower_id", "tier", "inputs")
        states = current_states(session)
    frame = latest.join(states, on="borrower_id", how="left", maintain_order="left")
    return preview(compile_checked(policy, profiles=profiles), frame, samples=cmd.samples)


def explain_inputs(cmd: ExplainInputs, *, uow: UnitOfWork | None, profiles: Profiles) -> Trace:
    """The trace of one decision; inputs that do not fit the policy are refused by name.
    ``uow`` is needed only for drafts and published versions."""
    [policy] = _resolve_all((cmd.policy,), uow=uow, profiles=profiles, checked=True)
    try:
        inputs = coerce_inputs(policy, cmd.inputs)
    except InputsInvalid as invalid:
        raise PolicyInputsInvalid(str(invalid), errors=invalid.errors) from invalid
    return explain(compile_checked(policy, profiles=profiles), inputs, current=cmd.current)


def preview_snapshot(
    cmd: PreviewImpact, snapshot: pl.DataFrame, *, uow: UnitOfWork | None, profiles: Profiles
) -> ImpactReport:
    """The impact preview over a portfolio snapshot (see ``PORTFOLIO_SCHEMA``) instead of the
    decision log; ``uow`` is needed only when the candidate is a draft or a version."""
    [policy] = _resolve_all((cmd.candidate,), uow=uow, profiles=profiles, checked=True)
    return preview(compile_checked(policy, profiles=profiles), snapshot, samples=cmd.samples)
