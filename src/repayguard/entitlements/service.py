"""Entitlement use-cases: turn decisions into the states borrowers have, with notice periods."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import polars as pl
from sqlalchemy.orm import Session

from repayguard.entitlements import repository
from repayguard.entitlements.states import (
    METHODS,
    Entitlement,
    MethodStates,
    interim_states,
    tightens,
)
from repayguard.platform.messages import Message

ENTITLEMENTS_CHANGED: Final = "repayguard.entitlements.changed"
CHANGES_PER_MESSAGE: Final = 2_000


@dataclass(frozen=True, slots=True)
class AppliedDecisions:
    changed: list[Entitlement]
    tightened: int
    loosened: int


def current_frame(session: Session, borrowers: Sequence[str] | None) -> pl.DataFrame:
    """Current entitlements of the named borrowers (None: everyone) as a frame of
    CURRENT_SCHEMA — the decision core's ``previous`` input and the baseline of a run.

    Everyone is read columnar (the batch path); a named micro-batch through the ORM session.
    """
    if borrowers is None:
        return repository.read_current(session.get_bind())  # type: ignore[arg-type]
    current = repository.load(session, borrowers).values()
    return pl.DataFrame(
        {
            "borrower_id": [e.borrower_id for e in current],
            "tier": [e.tier for e in current],
            "tier_since": [e.tier_since for e in current],
            "auto_debit": [e.states.auto_debit for e in current],
            "early_repayment": [e.states.early_repayment for e in current],
            "manual": [e.states.manual for e in current],
            "manual_channels": [list(e.states.manual_channels) for e in current],
            "reasons": [list(e.reasons) for e in current],
        },
        schema=repository.CURRENT_SCHEMA,
    )


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
    ``review_after_days`` the re-evaluation date (G4). A borrower seen for the first time is
    compared with the policy's default states. ``current`` is the run's baseline
    (``current_frame``); borrowers whose states, reasons and tier are unchanged are filtered
    out column-wise, so a quiet portfolio costs no per-borrower work here.
    """
    candidates = _changed(decisions, current)
    existing = repository.load(session, candidates.get_column("borrower_id").to_list())
    changed: list[Entitlement] = []
    rows: list[dict[str, Any]] = []
    tightened = loosened = 0
    for decision in candidates.iter_rows(named=True):
        found = existing.get(decision["borrower_id"])
        as_of: datetime = decision["as_of"]
        after = MethodStates(
            decision["auto_debit"],
            decision["early_repayment"],
            decision["manual"],
            tuple(decision["manual_channels"]),
        )
        reasons = tuple(decision["reasons"])
        before = found.states_at(as_of) if found is not None else defaults
        tighter = any(tightens(method, before, after) for method in METHODS)
        tightened += tighter
        loosened += (not tighter) and before != after
        notice = timedelta(days=int(decision["notice_days"] or 0))
        interim = interim_states(before, after) if tighter and notice else None
        entitlement = Entitlement(
            borrower_id=decision["borrower_id"],
            states=after,
            interim=interim if interim != after else None,
            effective_at=as_of + notice if interim is not None else as_of,
            expires_at=_days_after(as_of, decision["max_days"]),
            review_at=_days_after(as_of, decision["review_after_days"]),
            reasons=reasons,
            decision_id=decision["decision_id"],
            rule_id=decision["rule_id"],
            tier=decision["tier"],
            tier_since=decision["tier_since"],
        )
        changed.append(entitlement)
        rows.append(
            {
                "borrower_id": entitlement.borrower_id,
                "loan_scope": "*",
                **after.as_dict(),
                "reasons": list(reasons),
                "interim": entitlement.interim.as_dict() if entitlement.interim else None,
                "effective_at": entitlement.effective_at,
                "expires_at": entitlement.expires_at,
                "review_at": entitlement.review_at,
                "decision_id": entitlement.decision_id,
                "rule_id": entitlement.rule_id,
                "tier": entitlement.tier,
                "tier_since": entitlement.tier_since,
                "updated_at": now,
            }
        )
    repository.upsert(session, rows)
    return AppliedDecisions(changed, tightened, loosened)


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


def change_messages(run_id: str, changed: Sequence[Entitlement]) -> Iterator[Message]:
    """``repayguard.entitlements.changed`` messages carrying the new entitlements, chunked."""
    for start in range(0, len(changed), CHANGES_PER_MESSAGE):
        chunk = changed[start : start + CHANGES_PER_MESSAGE]
        yield Message(
            ENTITLEMENTS_CHANGED,
            {"run_id": run_id, "entitlements": [e.as_payload() for e in chunk]},
        )


def _days_after(start: datetime, days: int | None) -> datetime | None:
    return start + timedelta(days=int(days)) if days else None
