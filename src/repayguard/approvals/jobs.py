"""The timed job of approvals: requests nobody decided in time expire ('repayguard worker')."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from repayguard.approvals.service import expire_due
from repayguard.platform.jobs import JobContext, JobOutcome


@dataclass(frozen=True, slots=True)
class ExpireOverdueRequests:
    """Close pending requests past their ``expires_at`` in batches, each batch one
    transaction with its ``repayguard.approval.expired`` messages; running it twice expires
    nothing twice."""

    every: timedelta
    batch: int = 1_000
    name: str = "approvals.expire"

    def run(self, context: JobContext) -> JobOutcome:
        expired = 0
        while True:
            closed = expire_due(context.clock.now(), uow=context.uow(), limit=self.batch)
            expired += len(closed)
            context.heartbeat()
            if len(closed) < self.batch:
                break
        if not expired:
            return JobOutcome("no approval request is overdue", {"expired": 0})
        return JobOutcome(f"{expired} overdue approval request(s) expired", {"expired": expired})
