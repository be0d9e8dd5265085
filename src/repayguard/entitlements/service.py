"""Entitlement use-cases: turn decisions into the states borrowers have, with notice periods."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy.orm import Session

from repayguard.core.pipeline import FLAG_INPUTS
from repayguard.entitlements import flags, repository
from repayguard.entitlements.messages import DecisionsHeld, EntitlementsChanged
from repayguard.entitlements.states import (
    METHODS,
    Entitlement,
    HeldDecision,
    MethodStates,
    announce,
    tightens,
)
from repayguard.platform.messages import Message

CHANGES_PER_MESSAGE: Final = 2_000
_STATE_COLUMNS: Final = ("auto_debit", "early_repayment", "manual", "manual_channels")
OVERRIDE_RULE: Final = "manual-override"
"""The ``rule_id`` of an entitlement set by an approved manual override."""


@dataclass(frozen=True, slots=True)
class AppliedDecisions:
    changed: list[Entitlement]
    tightened: int
    loosened: int
    held: list[HeldDecision] = field(default_factory=list)
    """Tightenings that wait for approval (their rows require it); not in ``changed``."""
    overridden: int = 0
    """Borrowers left as they are because an approved manual override is in force."""


def current_frame(session: Session, borrowers: Sequence[str] | None) -> pl.DataFrame:
    """Current entitlements of the named borrowers (None: everyone) as a frame of
    CURRENT_SCHEMA plus the open-case flags (``open_appeal``, ``open_hardship``, see
    ``flags``) — the decision core's ``previous`` input and the baseline of a run.

    Everyone is read in bulk (the batch path); a named micro-batch through the ORM session.
    """
    if borrowers is None:
        everyone = repository.read_current(session)
        return flags.with_flags(everyone, session, None)
    named = repository.current_of(repository.load(session, borrowers).values())
    return flags.with_flags(named, session, borrowers)


def in_force_for_open_cases(
    session: Session, current: pl.DataFrame, *, as_of: datetime
) -> pl.DataFrame:
    """The policy's ``previous`` input: ``current`` (from ``current_frame``), except that a
    borrower with an open case (appeal or hardship) whose restriction is still in its notice
    period shows the states in force, not the announced ones.

    So a ``keep`` row for open cases (G5: an open case pre-empts tightening) keeps what the
    borrower has now, and the pending tightening is withdrawn rather than taking effect while
    the case is open; once it closes, the policy decides afresh and a restriction it still calls
    for starts a new notice period. Everyone else is passed through untouched (``current``
    stays the run's baseline for finding changes). Costs one indexed read of the flagged
    borrowers' entitlements.
    """
    flagged = current.filter(pl.any_horizontal(pl.col(flag) for flag in FLAG_INPUTS))
    if flagged.is_empty():
        return current
    pending = {
        borrower: entitlement.interim
        for borrower, entitlement in repository.load(
            session, flagged.get_column("borrower_id").to_list()
        ).items()
        if entitlement.interim is not None and entitlement.announced_at(as_of)
    }
    if not pending:
        return current
    interim = pl.DataFrame(
        {
            "borrower_id": list(pending),
            "_auto_debit": [states.auto_debit for states in pending.values()],
            "_early_repayment": [states.early_repayment for states in pending.values()],
            "_manual": [states.manual for states in pending.values()],
            "_manual_channels": [list(states.manual_channels) for states in pending.values()],
        },
        schema={
            "borrower_id": pl.String(),
            **{f"_{name}": current.schema[name] for name in _STATE_COLUMNS},
        },
    )
    joined = current.join(interim, on="borrower_id", how="left", maintain_order="left")
    return joined.with_columns(
        pl.coalesce(f"_{name}", name).alias(name) for name in _STATE_COLUMNS
    ).drop(f"_{name}" for name in _STATE_COLUMNS)


def apply_decisions(
    session: Session,
    decisions: pl.DataFrame,
    *,
    current: pl.DataFrame,
    defaults: MethodStates,
    now: datetime,
) -> AppliedDecisions:
    """Update entitlements from a frame of decisions (one per borrower) in the caller's
    transaction; returns the entitlements whose states, reasons or tier changed.

    A change that takes a method away waits for the row's ``notice_days`` (G3) — the loosened
    parts apply at once through the interim states; ``max_days`` sets the expiry and
    ``review_after_days`` the re-evaluation date (G4). Every period counts from when the
    borrower can be told, :func:`told_at` (``now``, the wall clock of the committing unit of
    work, unless the decision is dated later): a back-dated or replayed run never makes a
    restriction take effect in the past, nor one that expired before it began. A borrower
    seen for the first time is compared with the policy's default states. ``current`` is the
    run's baseline (``current_frame``); borrowers whose states, reasons and tier are unchanged
    are filtered out column-wise, so a quiet portfolio costs no per-borrower work here.

    Maker-checker: a tightening from a row marked ``requires_approval`` is not applied — the
    borrower keeps the current entitlement and the decision is returned in ``held`` for an
    approval request (loosening parts of such a decision wait with it; a decision of such a
    row that only loosens applies at once). A borrower under an approved manual override keeps
    it until the override expires.
    """
    candidates = _changed(decisions, current)
    existing = repository.load(session, candidates.get_column("borrower_id").to_list())
    changed: list[Entitlement] = []
    held: list[HeldDecision] = []
    tightened = loosened = overridden = 0
    for decision in candidates.iter_rows(named=True):
        found = existing.get(decision["borrower_id"])
        told = told_at(decision["as_of"], now=now)
        if found is not None and overrides_at(found, told):
            overridden += 1
            continue
        after = MethodStates(
            decision["auto_debit"],
            decision["early_repayment"],
            decision["manual"],
            tuple(decision["manual_channels"]),
        )
        reasons = tuple(decision["reasons"])
        before = found.states_at(told) if found is not None else defaults
        tighter = any(tightens(method, before, after) for method in METHODS)
        if tighter and decision["requires_approval"]:
            held.append(_held(decision, after, before, found))
            continue
        tightened += tighter
        loosened += (not tighter) and before != after
        interim, effective_at = announce(
            before, after, told=told, notice_days=int(decision["notice_days"] or 0)
        )
        expires_at = _days_after(told, decision["max_days"])
        review_at = _days_after(told, decision["review_after_days"])
        if found is not None and found.states == after:
            # The same states decided again (new reasons, another tier): a notice period that
            # is running is not restarted (G3) and the restriction keeps its expiry (G4) — a
            # re-decision moves only the next review.
            interim = found.interim if told < found.effective_at else None
            effective_at = found.effective_at
            if found.expires_at is not None:
                expires_at = min(expires_at or found.expires_at, found.expires_at)
                review_at = min(review_at or expires_at, expires_at)
        entitlement = Entitlement(
            borrower_id=decision["borrower_id"],
            states=after,
            interim=interim,
            effective_at=effective_at,
            expires_at=expires_at,
            review_at=review_at,
            reasons=reasons,
            decision_id=decision["decision_id"],
            rule_id=decision["rule_id"],
            tier=decision["tier"],
            tier_since=decision["tier_since"],
        )
        changed.append(entitlement)
    repository.upsert_all(session, changed, updated_at=now)
    return AppliedDecisions(changed, tightened, loosened, held, overridden)


def told_at(as_of: datetime, *, now: datetime) -> datetime:
    """When a decision dated ``as_of`` reaches the borrower, written at wall-clock ``now``: the
    later of the two. A notice period, an expiry or a review date counts from here (G3, G4) —
    never from a decision time already past, which would shorten or skip the notice."""
    return max(as_of, now)


def overrides_at(entitlement: Entitlement, moment: datetime) -> bool:
    """Whether an approved manual override sets ``entitlement`` at ``moment`` (decisions then
    leave it alone until it expires)."""
    return entitlement.rule_id == OVERRIDE_RULE and (
        entitlement.expires_at is None or moment < entitlement.expires_at
    )


def _held(
    decision: dict[str, Any], after: MethodStates, before: MethodStates, found: Entitlement | None
) -> HeldDecision:
    return HeldDecision(
        borrower_id=decision["borrower_id"],
        decision_id=decision["decision_id"],
        rule_id=decision["rule_id"],
        as_of=decision["as_of"],
        states=after,
        before=before,
        base_decision_id=found.decision_id if found is not None else None,
        reasons=tuple(decision["reasons"]),
        notice_days=int(decision["notice_days"] or 0),
        max_days=decision["max_days"],
        review_after_days=decision["review_after_days"],
        tier=decision["tier"],
        tier_since=decision["tier_since"],
    )


def _changed(decisions: pl.DataFrame, current: pl.DataFrame) -> pl.DataFrame:
    """The decisions whose states, channels, reasons or tier differ from the current ones."""
    compared = ("auto_debit", "early_repayment", "manual", "manual_channels", "reasons", "tier")
    baseline = current.select(
        "borrower_id", *(pl.col(c).cast(decisions.schema[c]).alias(f"_now_{c}") for c in compared)
    )
    joined = decisions.join(baseline, on="borrower_id", how="left", maintain_order="left")
    same = pl.all_horizontal(pl.col(c).eq_missing(pl.col(f"_now_{c}")) for c in compared)
    known = pl.col("_now_auto_debit").is_not_null()
    return joined.filter(~(known & same)).drop(f"_now_{c}" for c in compared)


def change_messages(
    run_id: str, changed: Sequence[Entitlement], *, told_at: datetime
) -> Iterator[Message]:
    """``repayguard.entitlements.changed`` messages carrying the new entitlements, chunked.

    ``told_at`` (the wall clock the periods were counted from) lets notices keep the whole
    notice period when it writes the advance notice later (``TOLD_AT``)."""
    for start in range(0, len(changed), CHANGES_PER_MESSAGE):
        chunk = changed[start : start + CHANGES_PER_MESSAGE]
        yield Message(
            EntitlementsChanged(run_id=run_id, told_at=told_at, entitlements=tuple(chunk))
        )


def held_messages(run_id: str, held: Sequence[HeldDecision]) -> Iterator[Message[DecisionsHeld]]:
    """``repayguard.decisions.held`` messages: the decisions waiting for approval, chunked
    (approvals turns each into a request, one pending per borrower)."""
    for start in range(0, len(held), CHANGES_PER_MESSAGE):
        chunk = held[start : start + CHANGES_PER_MESSAGE]
        yield Message(DecisionsHeld(run_id=run_id, decisions=tuple(chunk)))


def _days_after(start: datetime, days: int | None) -> datetime | None:
    return start + timedelta(days=int(days)) if days else None
