"""Bus consumers of decisions: the online driver re-decides borrowers after new events."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from repayguard.decisions import triggers
from repayguard.decisions.engine import DecisionEngine
from repayguard.decisions.service import DecideBorrowers, decide_borrowers
from repayguard.ingestion import EventsIngested
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork


class OnlineHandler:
    """Re-decides the borrowers named by ``repayguard.events.ingested`` as of now, through the
    same core code as the batch driver: one micro-batch for all the ingested batches delivered
    together (the union of their borrowers), since most of a small run's cost is fixed per run
    (docs/scaling.md, *Online deciders*). Deciding a borrower once with all of its new events is
    the same decision as deciding it after each batch in turn, as of the later time.

    ``engine`` returns the engine in effect at the time of each delivery, so a model promoted
    while the process runs decides the next batch."""

    def __init__(self, *, engine: Callable[[], DecisionEngine], history_days: int) -> None:
        self._engine = engine
        self._history_days = history_days

    def __call__(self, messages: Sequence[Message[EventsIngested]], uow: UnitOfWork) -> None:
        borrowers = sorted(
            {borrower for message in messages for borrower in message.fact.borrower_ids}
        )
        if not borrowers:
            return
        decide_borrowers(
            DecideBorrowers(borrower_ids=borrowers, mode="online", trigger=triggers.EVENTS),
            uow=uow,
            engine=self._engine(),
            history_days=self._history_days,
        )
