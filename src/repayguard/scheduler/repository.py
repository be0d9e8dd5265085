"""Every query of job leases and runs; nothing here commits.

Taking a lease is one atomic statement on SQLite and PostgreSQL alike: an INSERT that does
nothing on conflict (the job's first run anywhere), else an UPDATE whose WHERE clause holds the
whole condition (due, and no unexpired holder). PostgreSQL re-checks that condition on the row
after a concurrent writer commits; SQLite runs one writer at a time. Either way exactly one of
two racing workers sees a row count of 1.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from repayguard.platform.db import table_of
from repayguard.scheduler.models import JobLeaseRow, JobRunRow

_LEASES = table_of(JobLeaseRow)
_RUNS = table_of(JobRunRow)


def try_acquire(session: Session, job: str, *, holder: str, now: datetime, until: datetime) -> bool:
    """Take ``job``'s lease for ``holder`` until ``until`` if the job is due and free."""
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_LEASES)
    created = session.execute(
        insert.values(
            job=job, holder=holder, lease_until=until, next_run_at=now, last_started_at=now
        )
        .on_conflict_do_nothing(index_elements=["job"])
        .returning(_LEASES.c.job)
    ).first()
    if created is not None:
        return True
    # RETURNING, not the row count: PostgreSQL reports no count for an ORM session's INSERT.
    taken = session.execute(
        update(_LEASES)
        .where(
            _LEASES.c.job == job,
            _LEASES.c.next_run_at <= now,
            or_(_LEASES.c.lease_until.is_(None), _LEASES.c.lease_until <= now),
        )
        .values(holder=holder, lease_until=until, last_started_at=now)
        .returning(_LEASES.c.job)
    ).first()
    return taken is not None


def extend(session: Session, job: str, *, holder: str, until: datetime) -> bool:
    """Push the lease on while ``holder`` still holds it."""
    result = session.execute(
        update(_LEASES)
        .where(_LEASES.c.job == job, _LEASES.c.holder == holder)
        .values(lease_until=until)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def release(
    session: Session,
    job: str,
    *,
    holder: str,
    now: datetime,
    next_run_at: datetime,
    outcome: str,
) -> bool:
    """Give the lease up and set when the job is next due (only while ``holder`` holds it)."""
    result = session.execute(
        update(_LEASES)
        .where(_LEASES.c.job == job, _LEASES.c.holder == holder)
        .values(
            holder=None,
            lease_until=None,
            next_run_at=next_run_at,
            last_finished_at=now,
            last_outcome=outcome[:2_000],
        )
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def lease(session: Session, job: str) -> JobLeaseRow | None:
    return session.get(JobLeaseRow, job)


def leases(session: Session) -> list[JobLeaseRow]:
    return list(session.scalars(select(JobLeaseRow).order_by(JobLeaseRow.job)).all())


def start_run(session: Session, run: JobRunRow) -> None:
    session.add(run)


def finish_run(session: Session, run_id: str, *, now: datetime, status: str, summary: str) -> None:
    session.execute(
        update(_RUNS)
        .where(_RUNS.c.run_id == run_id)
        .values(finished_at=now, status=status, summary=summary[:2_000])
    )
