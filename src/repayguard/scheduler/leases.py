"""Where each scheduler job's lease stands now: held by a worker, due, or waiting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from repayguard.scheduler import repository

LeaseStatus = Literal["held", "due", "waiting"]


@dataclass(frozen=True, slots=True)
class LeaseState:
    """A job's lease at one moment. ``overdue_seconds`` is how long a free job has been past
    its next run time; it grows only while no worker takes the job (all workers down, or
    every one stuck), which is what an alert on it catches."""

    job: str
    status: LeaseStatus
    overdue_seconds: float


def lease_states(session: Session, *, now: datetime) -> list[LeaseState]:
    """Every job that has run at least once, in name order (one small table read)."""
    states: list[LeaseState] = []
    for row in repository.leases(session):
        if row.lease_until is not None and row.lease_until > now:
            states.append(LeaseState(row.job, "held", 0.0))
        elif row.next_run_at <= now:
            states.append(LeaseState(row.job, "due", (now - row.next_run_at).total_seconds()))
        else:
            states.append(LeaseState(row.job, "waiting", 0.0))
    return states
