"""Bus consumers of complaints: re-decide a borrower whose appeal opened or closed (hardship
cases reuse it), and follow the approval of a reversal. Wrap both with
``platform.consumers.idempotent``."""

from __future__ import annotations

from collections.abc import Callable

from repayguard import approvals
from repayguard.complaints.messages import ComplaintFact
from repayguard.complaints.resolution import settle_reversal
from repayguard.complaints.service import ComplaintSetup
from repayguard.decisions import DecideBorrowers, DecisionEngine, decide_borrowers, triggers
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork


class Redecide:
    """Handles ``repayguard.complaint.filed`` and ``.resolved`` (and, with ``trigger``
    ``hardship``, ``repayguard.hardship.opened`` and ``.closed``, through :meth:`borrower`):
    the case's borrower is decided again at once, so the policy sees the open-case flags as
    they now are (``mode = appeal``: a run about an open case)."""

    def __init__(
        self,
        *,
        engine: Callable[[], DecisionEngine],
        history_days: int,
        trigger: str = triggers.APPEAL,
    ) -> None:
        self._engine = engine
        self._history_days = history_days
        self._trigger = trigger

    def __call__(self, message: Message[ComplaintFact], uow: UnitOfWork) -> None:
        self.borrower(message.fact.borrower_id, uow)

    def borrower(self, borrower_id: str, uow: UnitOfWork) -> None:
        """Decide ``borrower_id`` again in ``uow`` (a hardship case's consumer calls this)."""
        decide_borrowers(
            DecideBorrowers(
                borrower_ids=[borrower_id],
                mode="appeal",
                trigger=self._trigger,
            ),
            uow=uow,
            engine=self._engine(),
            history_days=self._history_days,
        )


class ReversalOutcomes:
    """Handles ``repayguard.approval.approved`` / ``.rejected`` / ``.withdrawn`` /
    ``.expired``: an override request reversing a case closes the case (approved) or opens it
    again (see ``resolution.settle_reversal``). Other requests are not complaints' business."""

    def __init__(self, *, setup: ComplaintSetup) -> None:
        self._setup = setup

    def __call__(self, message: Message[approvals.ApprovalDecided], uow: UnitOfWork) -> None:
        decided = message.fact
        if decided.kind != "override":
            return
        settle_reversal(
            decided.request_id, decided.state, uow=uow, setup=self._setup, checker=decided.checker
        )
