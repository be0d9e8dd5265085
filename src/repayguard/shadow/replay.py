"""Counterfactual replay: recorded history re-decided under a candidate policy.

Replay changes decisions, not outcomes: borrowers' events are what they were, so it says who
the candidate would have restricted when (by method) and which notices would have gone out,
beside what the decision log says happened. Nothing is written.

The grid is the recorded decision runs: each run in the range is re-run at its own as-of time,
over the borrowers it decided, with the real decision core (the engine's model and bands, the
candidate compiled) and the borrowers' events up to that time. The candidate carries its own
state from run to run (its previous decision, for tier hysteresis and ``keep``); a borrower's
first replayed decision starts from no previous decision. A notice is counted where the
candidate's states move from its previous ones: a tightening is an advance notice, a move
back to the free state a restoration notice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import polars as pl

from repayguard import decisions, ingestion, policies
from repayguard.core.pipeline import FREE_STATES, decide, empty_previous
from repayguard.core.policy import Profiles
from repayguard.errors import InvalidInput
from repayguard.platform.uow import UnitOfWork

LABEL: Final = "replay: changes decisions, not outcomes"
METHODS: Final = ("auto_debit", "early_repayment", "manual")


@dataclass(frozen=True, slots=True)
class ReplayPolicy:
    """Re-decide the runs recorded with an as-of time in [start, end] under ``candidate``."""

    candidate: policies.PolicyRef
    start: datetime
    end: datetime


@dataclass(slots=True)
class ReplayReport:
    """Per run: borrowers, restricted per method under each arm, decisions that differ,
    notices each arm sent; ``changes`` lists every borrower the arms treat differently."""

    candidate: str
    label: str = LABEL
    runs: list[dict[str, object]] = field(default_factory=list)
    changes: list[dict[str, object]] = field(default_factory=list)
    last: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Each replayed borrower's latest outcome: borrower_id, actual and candidate restricted."""


def replay(
    cmd: ReplayPolicy,
    *,
    uow: UnitOfWork,
    engine: decisions.DecisionEngine,
    profiles: Profiles,
    history_days: int,
    progress: Callable[[int, int], None] | None = None,
) -> ReplayReport:
    """Replay the range (read-only: the unit of work is never committed)."""
    if cmd.end < cmd.start:
        raise InvalidInput(
            f"the replay range ends ({cmd.end:%Y-%m-%d}) before it starts ({cmd.start:%Y-%m-%d})",
            hint="give --from before --to",
        )
    with uow:
        session = uow.session
        policy = policies.resolve(cmd.candidate, session=session, profiles=profiles)
        compiled = policies.compile_checked(policy, profiles=profiles)
        report = ReplayReport(f"{policy.name}@{compiled.version}")
        runs = decisions.runs_between(session, cmd.start, cmd.end)
        state = empty_previous()
        actual_before: dict[str, tuple[str, ...]] = {}
        latest: dict[str, tuple[bool, bool]] = {}
        for done, (run_id, as_of) in enumerate(runs, start=1):
            logged = decisions.logged_states(session, run_id)
            borrowers = [row[0] for row in logged]
            events = ingestion.load_history(
                session, since=as_of - timedelta(days=history_days), until=as_of,
                borrowers=borrowers,
            )  # fmt: skip
            previous = state.filter(pl.col("borrower_id").is_in(borrowers))
            outcome = decide(
                events, as_of=as_of, model=engine.model, bands=engine.bands,
                policy=compiled, previous=previous, borrowers=borrowers,
            )  # fmt: skip
            report.runs.append(
                _run_row(run_id, as_of, logged, outcome, state, actual_before, report, latest)
            )
            state = pl.concat(
                [
                    state.filter(~pl.col("borrower_id").is_in(borrowers)),
                    outcome.select(state.columns).cast(dict(state.schema)),  # type: ignore[arg-type]
                ]
            )
            if progress is not None:
                progress(done, len(runs))
        report.last = pl.DataFrame(
            [(b, a, c) for b, (a, c) in latest.items()],
            schema=["borrower_id", "actual", "candidate"],
            orient="row",
        )
    return report


def _run_row(
    run_id: str,
    as_of: datetime,
    logged: list[tuple[str, str, str, str, str]],
    outcome: pl.DataFrame,
    state: pl.DataFrame,
    actual_before: dict[str, tuple[str, ...]],
    report: ReplayReport,
    latest: dict[str, tuple[bool, bool]],
) -> dict[str, object]:
    candidate = {r["borrower_id"]: r for r in outcome.iter_rows(named=True)}
    before = {r["borrower_id"]: r for r in state.iter_rows(named=True)}
    row: dict[str, object] = {"run_id": run_id, "as_of": as_of, "borrowers": len(logged)}
    counts = dict.fromkeys(
        [f"{arm}_{m}" for arm in ("actual", "candidate") for m in METHODS], 0
    ) | {"differ": 0, "actual_notices": 0, "candidate_notices": 0}
    for borrower, rule, *states in logged:
        mine = candidate[borrower]
        theirs = tuple(mine[m] for m in METHODS)
        for m, actual_state, cand_state in zip(METHODS, states, theirs, strict=True):
            counts[f"actual_{m}"] += actual_state != FREE_STATES[m]
            counts[f"candidate_{m}"] += cand_state != FREE_STATES[m]
        counts["actual_notices"] += _notices(actual_before.get(borrower), tuple(states))
        prior = before.get(borrower)
        counts["candidate_notices"] += _notices(
            None if prior is None else tuple(prior[m] for m in METHODS), theirs
        )
        actual_before[borrower] = tuple(states)
        latest[borrower] = (_restricted(tuple(states)), _restricted(theirs))
        if tuple(states) != theirs:
            counts["differ"] += 1
            report.changes.append(
                {
                    "as_of": as_of,
                    "borrower_id": borrower,
                    "actual_rule": rule,
                    "candidate_rule": mine["rule_id"],
                    **{f"actual_{m}": s for m, s in zip(METHODS, states, strict=True)},
                    **{f"candidate_{m}": s for m, s in zip(METHODS, theirs, strict=True)},
                }
            )
    return row | counts


def _restricted(states: tuple[str, ...]) -> bool:
    return any(s != FREE_STATES[m] for m, s in zip(METHODS, states, strict=True))


def _notices(before: tuple[str, ...] | None, after: tuple[str, ...]) -> int:
    """Notices a move from ``before`` (None: the free states) to ``after`` sends: one per
    method tightened (advance notice) or freed (restoration)."""
    old = before or tuple(FREE_STATES[m] for m in METHODS)
    return sum(o != n for o, n in zip(old, after, strict=True))
