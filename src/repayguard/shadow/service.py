"""Shadow mode use-cases: set or clear the challenger, and read how it compares.

The challenger is an admin setting (``shadow:manage``), not a maker-checker request: it can
never change an entitlement — every decision run evaluates it beside the policy in force on
the same feature frame and only logs what it would have decided (``shadow_decisions``). Each
process follows ``repayguard.shadow.challenger_changed`` to put it in its engine slot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from repayguard import decisions, policies
from repayguard.core.policy import Profiles
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork
from repayguard.policies.errors import PolicyVersionTampered
from repayguard.shadow import repository
from repayguard.shadow.fairness import FairnessComparison, compare
from repayguard.shadow.messages import ChallengerChanged
from repayguard.shadow.models import ChallengerRow

ChallengerRef = policies.DraftRef | policies.VersionRef


@dataclass(frozen=True, slots=True)
class SetChallenger:
    """Evaluate ``policy`` (a published version or a stored draft) beside production."""

    policy: ChallengerRef
    actor: str


@dataclass(frozen=True, slots=True)
class ChallengerInfo:
    name: str
    version: str
    content_hash: str
    set_by: str
    set_at: datetime


@dataclass(frozen=True, slots=True)
class ShadowSummary:
    """How the challenger compares with production over every decision it shadowed."""

    challenger: ChallengerInfo | None
    compared: int
    differing: int
    borrowers: int
    transitions: list[tuple[str, str, str, int]]
    """(method, production state, challenger state, decisions) where they differ."""
    fairness: FairnessComparison | None = None


def set_challenger(cmd: SetChallenger, *, uow: UnitOfWork, profiles: Profiles) -> ChallengerInfo:
    """Pin the challenger (checked and compiled first, so a bad one is refused here, not in
    a decision run) and tell every process."""
    with uow:
        session = uow.session
        policy = policies.resolve(cmd.policy, session=session, profiles=profiles)
        compiled = policies.compile_checked(policy, profiles=profiles)
        draft = cmd.policy.draft_id if isinstance(cmd.policy, policies.DraftRef) else None
        version = int(policy.version) if not draft and policy.version else None
        row = ChallengerRow(
            slot=repository.SLOT,
            policy_name=policy.name,
            policy_version=version,
            draft_id=draft,
            content_hash=compiled.content_hash,
            set_by=cmd.actor,
            set_at=uow.clock.now(),
        )
        repository.put_challenger(session, row)
        info = _info(row)
        uow.emit(
            Message(
                ChallengerChanged(
                    set_=True,
                    name=info.name,
                    version=info.version,
                    content_hash=info.content_hash,
                    set_by=info.set_by,
                )
            )
        )
        uow.commit()
    return info


def clear_challenger(actor: str, *, uow: UnitOfWork) -> bool:
    """Stop shadow mode; False when no challenger was set. The shadow log stays."""
    with uow:
        cleared = repository.delete_challenger(uow.session)
        if cleared:
            uow.emit(Message(ChallengerChanged(set_=False, cleared_by=actor)))
        uow.commit()
    return cleared


def current_challenger(*, uow: UnitOfWork) -> ChallengerInfo | None:
    with uow:
        row = repository.get_challenger(uow.session)
        return None if row is None else _info(row)


def load_challenger(session: Session, *, profiles: Profiles) -> decisions.Challenger | None:
    """The challenger to put in the engine slot, its hash verified against the setting."""
    row = repository.get_challenger(session)
    if row is None:
        return None
    ref: ChallengerRef = (
        policies.DraftRef(row.draft_id)
        if row.draft_id
        else policies.VersionRef(row.policy_name, row.policy_version)
    )
    policy = policies.resolve(ref, session=session, profiles=profiles)
    compiled = policies.compile_checked(policy, profiles=profiles)
    if compiled.content_hash != row.content_hash:
        raise PolicyVersionTampered(
            f"the challenger {row.policy_name} no longer hashes to {row.content_hash}",
            hint="set the challenger again ('repayguard shadow set NAME@N')",
        )
    return decisions.Challenger(row.policy_name, _info(row).version, compiled)


def summary(
    *,
    uow: UnitOfWork,
    attributes: pl.DataFrame | None = None,
    groups: list[str] | None = None,
    threshold: float = 1.25,
) -> ShadowSummary:
    """Counts of shadowed and differing decisions for the challenger in effect, the state
    transitions behind them and — given group attributes — both arms' restriction rates by
    group over each borrower's latest shadowed decision."""
    with uow:
        session = uow.session
        row = repository.get_challenger(session)
        if row is None:
            return ShadowSummary(None, 0, 0, 0, [])
        compared, differing, borrowers = decisions.shadow_counts(session, row.content_hash)
        moves = decisions.shadow_transitions(session, row.content_hash)
        fairness = None
        if attributes is not None and groups:
            pairs = decisions.shadow_latest_pairs(session, row.content_hash)
            frame = pl.DataFrame(
                pairs, schema=["borrower_id", "champion", "challenger"], orient="row"
            )
            fairness = compare(
                frame.select("borrower_id", pl.col("champion").alias("restricted")),
                frame.select("borrower_id", pl.col("challenger").alias("restricted")),
                attributes,
                groups=groups,
                threshold=threshold,
            )
        return ShadowSummary(_info(row), compared, differing, borrowers, moves, fairness)


def list_disagreements(
    *, uow: UnitOfWork, limit: int = 50, offset: int = 0
) -> list[dict[str, Any]]:
    """The latest decisions where the challenger differs, both outcomes side by side."""
    with uow:
        row = repository.get_challenger(uow.session)
        if row is None:
            return []
        return decisions.shadow_disagreements(
            uow.session, row.content_hash, limit=limit, offset=offset
        )


def _info(row: ChallengerRow) -> ChallengerInfo:
    version = f"draft:{row.draft_id}" if row.draft_id else str(row.policy_version)
    return ChallengerInfo(row.policy_name, version, row.content_hash, row.set_by, row.set_at)
