"""Scheduler: the timed transitions (notice periods, reviews and expiries, notice retries, the
policy's evaluation cadence, and any job a feature registers), run by 'repayguard worker' under
database leases."""

from repayguard.platform.jobs import (
    FunctionJob,
    Job,
    JobContext,
    JobOutcome,
    JobRegistry,
    job,
)
from repayguard.scheduler.cadence import EvaluateOnCadence
from repayguard.scheduler.jobs import (
    ActivateRestrictions,
    DeliverDueNotices,
    ReviewEntitlements,
    default_jobs,
)
from repayguard.scheduler.leases import LeaseState, lease_states
from repayguard.scheduler.runner import JobReport, Worker, worker_name

__all__ = [
    "ActivateRestrictions",
    "DeliverDueNotices",
    "EvaluateOnCadence",
    "FunctionJob",
    "Job",
    "JobContext",
    "JobOutcome",
    "JobRegistry",
    "JobReport",
    "LeaseState",
    "ReviewEntitlements",
    "Worker",
    "default_jobs",
    "job",
    "lease_states",
    "worker_name",
]
