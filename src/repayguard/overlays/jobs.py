"""The worker's ``overlays.expire`` job: overlays past their expiry or their review deadline end."""

from __future__ import annotations

from datetime import timedelta

from repayguard.overlays.service import expire_overlays
from repayguard.platform.jobs import FunctionJob, JobContext, JobOutcome, job


def expire_job(*, every: timedelta, batch: int) -> FunctionJob:
    """Ends overdue overlays, ``batch`` at a time (``expired`` past ``expires_at``, ``lapsed``
    unreviewed past ``review_due_at``); each end re-decides its segment through the bus."""

    def work(context: JobContext) -> JobOutcome:
        ended = expire_overlays(uow=context.uow(), limit=batch)
        counts = {
            "expired": sum(o.state == "expired" for o in ended),
            "lapsed": sum(o.state == "lapsed" for o in ended),
        }
        return JobOutcome(
            f"{counts['expired']} overlay(s) expired, {counts['lapsed']} lapsed",
            counts,
            more=len(ended) >= batch,
        )

    return job("overlays.expire", every, work)
