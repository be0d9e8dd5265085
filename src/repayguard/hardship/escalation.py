"""SLA escalation of hardship cases: the worker job that marks open cases nearing or past their
deadline — ``due_soon`` once within ``escalate_before`` of it, ``overdue`` once it passed (a
case found overdue straight away skips ``due_soon``); each level set once, with
``repayguard.hardship.escalated``, as complaints do."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from repayguard.hardship import repository
from repayguard.hardship.messages import (
    HardshipEscalated,
)
from repayguard.hardship.models import DUE_SOON, OVERDUE
from repayguard.platform.jobs import FunctionJob, JobContext, JobOutcome, job
from repayguard.platform.messages import Message
from repayguard.platform.uow import UnitOfWork

JOB_NAME = "hardship.escalate"


@dataclass(frozen=True, slots=True)
class HardshipEscalation:
    due_soon: int
    overdue: int
    more: bool
    """The batch was full: there may be more cases to escalate."""


def escalate_hardship(
    *, uow: UnitOfWork, escalate_before: timedelta, limit: int = 500
) -> HardshipEscalation:
    """Escalate the open cases whose level is behind their deadline, in one transaction."""
    with uow:
        now = uow.clock.now()
        rows = repository.escalation_due(
            uow.session, now=now, window_start=now + escalate_before, limit=limit
        )
        counts = {DUE_SOON: 0, OVERDUE: 0}
        for row in rows:
            level = OVERDUE if row.due_at <= now else DUE_SOON
            row.escalation = level
            row.escalated_at = now
            row.updated_at = now
            counts[level] += 1
            uow.emit(Message(HardshipEscalated.of(row, level=level)))
        uow.commit()
    return HardshipEscalation(counts[DUE_SOON], counts[OVERDUE], more=len(rows) == limit)


def hardship_escalation_job(
    *, every: timedelta, escalate_before: timedelta, batch: int = 500
) -> FunctionJob:
    """The scheduler job (``hardship.escalate``) bootstrap registers."""

    def run(context: JobContext) -> JobOutcome:
        report = escalate_hardship(uow=context.uow(), escalate_before=escalate_before, limit=batch)
        counts = {"due_soon": report.due_soon, "overdue": report.overdue}
        if not report.due_soon and not report.overdue:
            return JobOutcome("no hardship case nearing or past its deadline", counts)
        return JobOutcome(
            f"{report.due_soon} hardship case(s) escalated as due soon, "
            f"{report.overdue} as overdue",
            counts,
            more=report.more,
        )

    return job(JOB_NAME, every, run)
