"""SLA escalation: the worker job that marks cases nearing or past their deadline.

A case is escalated ``due_soon`` once it is within ``escalate_before`` of its deadline and
``overdue`` once the deadline passed (a case found overdue straight away skips ``due_soon``).
Each level is set once, with ``repayguard.complaint.escalated``: running the job again, or on
two workers, escalates nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from repayguard.complaints import repository
from repayguard.complaints.messages import (
    ComplaintEscalated,
)
from repayguard.complaints.models import DUE_SOON, OVERDUE
from repayguard.platform.jobs import FunctionJob, JobContext, JobOutcome, job
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

JOB_NAME = "complaints.escalate"


@dataclass(frozen=True, slots=True)
class EscalationReport:
    due_soon: int
    overdue: int
    more: bool
    """The batch was full: there may be more cases to escalate."""


def escalate_due(
    *, uow: UnitOfWork, escalate_before: timedelta, limit: int = 500
) -> EscalationReport:
    """Escalate the active cases whose level is behind their deadline, in one transaction."""
    with uow:
        session = uow.session
        now = uow.clock.now()
        rows = repository.escalation_due(
            session, now=now, window_start=now + escalate_before, limit=limit
        )
        counts = {DUE_SOON: 0, OVERDUE: 0}
        for row in rows:
            level = OVERDUE if row.due_at <= now else DUE_SOON
            row.escalation = level
            row.escalated_at = now
            row.updated_at = now
            counts[level] += 1
            uow.emit(Message(ComplaintEscalated.of(row, level=level)))
        uow.commit()
    return EscalationReport(counts[DUE_SOON], counts[OVERDUE], more=len(rows) == limit)


def escalation_job(
    *, every: timedelta, escalate_before: timedelta, batch: int = 500
) -> FunctionJob:
    """The scheduler job (``complaints.escalate``) bootstrap registers."""

    def run(context: JobContext) -> JobOutcome:
        report = escalate_due(uow=context.uow(), escalate_before=escalate_before, limit=batch)
        counts = {"due_soon": report.due_soon, "overdue": report.overdue}
        if not report.due_soon and not report.overdue:
            return JobOutcome("no complaint nearing or past its deadline", counts)
        return JobOutcome(
            f"{report.due_soon} complaint(s) escalated as due soon, {report.overdue} as overdue",
            counts,
            more=report.more,
        )

    return job(JOB_NAME, every, run)
