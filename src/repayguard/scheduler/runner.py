"""The worker: takes each due job's database lease, runs the job, records the run, releases.

Any number of workers may run against one database; a job runs in at most one of them at a
time, and (with clocks in step) once per interval. A worker that dies mid-run leaves its lease
to expire, after which another takes the job over; jobs are idempotent, so the repeated part
has no second effect.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import structlog

from repayguard.errors import JobLeaseLost
from repayguard.platform.clock import Clock
from repayguard.platform.jobs import Job, JobContext, JobOutcome, JobRegistry
from repayguard.platform.uow import UnitOfWorkFactory
from repayguard.scheduler import repository
from repayguard.scheduler.models import JobLeaseRow, JobRunRow

log = structlog.get_logger(__name__)

Status = Literal["ran", "failed", "lease_lost", "held", "not_due"]


@dataclass(frozen=True, slots=True)
class JobReport:
    """What happened to one job in one pass."""

    job: str
    status: Status
    summary: str
    at: datetime
    holder: str | None = None
    """``held``: the worker holding the lease."""
    next_run_at: datetime | None = None
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def did_something(self) -> bool:
        """A run that changed anything, or did not end well (what a watching person wants)."""
        return self.status in ("failed", "lease_lost") or (
            self.status == "ran" and any(self.counts.values())
        )


def worker_name() -> str:
    """A holder name that says where a worker runs: host, process, and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs the registry's jobs under database leases.

    ``lease`` is how long a lease lasts unless the job renews it (``heartbeat``); it must
    exceed the longest stretch a job works between two heartbeats. ``before_pass`` runs at the
    start of every pass (the CLI relays pending outbox messages there); ``on_run(job,
    status)`` hears how every run ended (``ran``, ``failed``, ``lease_lost``) — the metrics.
    """

    def __init__(
        self,
        registry: JobRegistry,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        holder: str,
        lease: timedelta,
        before_pass: Callable[[], object] | None = None,
        on_run: Callable[[str, str], None] | None = None,
    ) -> None:
        self._registry = registry
        self._uow = uow
        self._clock = clock
        self.holder = holder
        self._lease = lease
        self._before_pass = before_pass
        self._on_run = on_run

    def run_once(self) -> list[JobReport]:
        """One pass: every due, free job runs once. Returns a report per registered job."""
        if self._before_pass is not None:
            self._before_pass()
        return [self._run(item) for item in self._registry]

    def run_forever(
        self, *, stop: threading.Event, poll: float, on_report: Callable[[JobReport], None]
    ) -> None:
        """Pass after pass until ``stop`` is set (the current job finishes first). A pass that
        fails outside any job (the database unreachable, say) is logged and tried again."""
        while not stop.is_set():
            try:
                for report in self.run_once():
                    on_report(report)
                    if stop.is_set():
                        break
            except Exception:
                log.exception("scheduler.pass_failed", holder=self.holder)
            stop.wait(poll)

    def _run(self, item: Job) -> JobReport:
        now = self._clock.now()
        run_id = uuid.uuid4().hex
        with self._uow() as unit:
            taken = repository.try_acquire(
                unit.session, item.name, holder=self.holder, now=now, until=now + self._lease
            )
            if not taken:
                return self._not_taken(item, now, repository.lease(unit.session, item.name))
            repository.start_run(
                unit.session,
                JobRunRow(
                    run_id=run_id,
                    job=item.name,
                    holder=self.holder,
                    started_at=now,
                    status="running",
                ),
            )
            unit.commit()
        last_beat = [now]

        def heartbeat() -> None:
            moment = self._clock.now()
            if moment - last_beat[0] < self._lease / 4:
                return
            with self._uow() as unit:
                kept = repository.extend(
                    unit.session, item.name, holder=self.holder, until=moment + self._lease
                )
                unit.commit()
            if not kept:
                raise JobLeaseLost(f"the lease of job {item.name} was taken over by another worker")
            last_beat[0] = moment

        context = JobContext(
            uow=self._uow, clock=self._clock, holder=self.holder, heartbeat=heartbeat
        )
        status: Status
        try:
            outcome = item.run(context)
            status = "ran"
        except JobLeaseLost as lost:
            log.warning("scheduler.lease_lost", job=item.name, holder=self.holder)
            outcome, status = JobOutcome(lost.message), "lease_lost"
        except Exception as exc:
            log.exception("scheduler.job_failed", job=item.name, holder=self.holder)
            outcome, status = JobOutcome(f"{type(exc).__name__}: {exc}"), "failed"
        finished = self._clock.now()
        next_run = finished if outcome.more and status == "ran" else finished + item.every
        with self._uow() as unit:
            repository.finish_run(
                unit.session, run_id, now=finished, status=status, summary=outcome.summary
            )
            released = status != "lease_lost" and repository.release(
                unit.session,
                item.name,
                holder=self.holder,
                now=finished,
                next_run_at=next_run,
                outcome=f"{status}: {outcome.summary}",
            )
            unit.commit()
        if status != "lease_lost" and not released:
            # The run outlasted its lease without a heartbeat and another worker took it over.
            log.warning("scheduler.lease_expired_during_run", job=item.name, holder=self.holder)
        if self._on_run is not None:
            self._on_run(item.name, status)
        return JobReport(
            item.name,
            status,
            outcome.summary,
            finished,
            next_run_at=next_run,
            counts=outcome.counts,
        )

    def _not_taken(self, item: Job, now: datetime, current: JobLeaseRow | None) -> JobReport:
        if current is not None and current.lease_until is not None and current.lease_until > now:
            return JobReport(
                item.name,
                "held",
                f"running in {current.holder} (lease until {current.lease_until:%H:%M:%S})",
                now,
                holder=current.holder,
                next_run_at=current.next_run_at,
            )
        due = current.next_run_at if current is not None else None
        shown = f"next due {due:%Y-%m-%d %H:%M:%S} UTC" if due is not None else "not due"
        return JobReport(item.name, "not_due", shown, now, next_run_at=due)
