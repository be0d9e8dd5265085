"""The policy's evaluation cadence on the worker: borrowers re-decided as often as their tier
asks, and the whole book once per period after its time of day.

Who is due comes from ``last_decisions`` (each borrower's latest decision time and tier, kept
by every decision run): one index range scan per tier and batch, riskiest tier first, never a
walk over the decision log. A borrower decided for any reason (events, a review, an operator)
is not due again until its cadence has passed since then. The whole-book run is the same
query with the period's start as the bound, so it goes through the book in batches, and a
worker taking over a crashed one's lease carries on where it stopped: anybody decided since
the period started is not decided again. Every batch is one ``decide_borrowers`` run, recorded
with its trigger (``cadence:T5 daily``, ``whole_book daily``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from repayguard.core.policy.evaluation import Evaluation, cutoff, period_start
from repayguard.decisions import (
    DecideBorrowers,
    DecisionEngine,
    decide_borrowers,
    due_borrowers,
    triggers,
)
from repayguard.platform.jobs import JobContext, JobOutcome

TIERS = range(9, 0, -1)
"""Every tier a policy can name (T1..T9), riskiest first."""


@dataclass(frozen=True, slots=True)
class _Work:
    """One kind of due borrower: a tier under its cadence, or the whole book's period."""

    tier: int
    before: datetime
    inclusive: bool
    trigger: str


@dataclass(frozen=True, slots=True)
class EvaluateOnCadence:
    """Re-decide borrowers whose tier's cadence has elapsed since their last decision, then
    (when the policy has a whole-book run) everyone last decided before the current period
    started; ``batch`` borrowers per decision run, at most ``max_batches`` runs per job run
    (then the job is due again at once, so the worker's other jobs are not starved)."""

    every: timedelta
    engine: Callable[[], DecisionEngine]
    history_days: int
    batch: int = 500
    max_batches: int = 20
    name: str = "decisions.cadence"

    def run(self, context: JobContext) -> JobOutcome:
        engine = self.engine()  # one engine for the whole job run, whatever is published meanwhile
        evaluation = engine.policy.evaluation
        if evaluation is None:
            return JobOutcome("the policy states no evaluation cadence", {"decided": 0})
        now = context.clock.now()
        counts: dict[str, int] = {}
        batches, more = 0, False
        for work in _work(evaluation, now):
            while not more:
                if batches == self.max_batches:
                    more = True  # the job is due again at once and carries on from here
                    break
                with context.uow() as unit:
                    ids = due_borrowers(
                        unit.session,
                        tier=work.tier,
                        before=work.before,
                        inclusive=work.inclusive,
                        limit=self.batch,
                    )
                if not ids:
                    break
                decide_borrowers(
                    DecideBorrowers(borrower_ids=ids, trigger=work.trigger),
                    uow=context.uow(),
                    engine=engine,
                    history_days=self.history_days,
                )
                counts[work.trigger] = counts.get(work.trigger, 0) + len(ids)
                batches += 1
                context.heartbeat()
                if len(ids) < self.batch:
                    break
        decided = sum(counts.values())
        if not decided:
            return JobOutcome("nobody due for re-decision", {"decided": 0})
        shown = ", ".join(f"{n} by {trigger}" for trigger, n in sorted(counts.items()))
        return JobOutcome(
            f"{decided} borrower(s) re-decided on the policy's cadence: {shown}",
            {"decided": decided},
            more=more,
        )


def _work(evaluation: Evaluation, now: datetime) -> list[_Work]:
    """What is due at ``now``: each tier under its cadence (riskiest first), then the whole
    book's current period."""
    work: list[_Work] = []
    for tier in TIERS:
        cadence = evaluation.cadence_of(tier)
        if cadence is not None:
            work.append(_Work(tier, cutoff(cadence, now), True, triggers.cadence(tier, cadence)))
    book = evaluation.whole_book
    if book is not None:
        start = period_start(book, now)
        trigger = triggers.whole_book(book.every)
        work += [_Work(tier, start, False, trigger) for tier in TIERS]
    return work
