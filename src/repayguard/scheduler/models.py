"""Scheduler tables: one lease per job (who runs it, until when, when it is next due) and the
record of every run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from repayguard.platform.db import Base, UtcDateTime


class JobLeaseRow(Base):
    """A job's lease. A worker runs the job only after taking the lease with one conditional
    write (the job is due and nobody holds an unexpired lease), so two workers never run the
    same job at once; releasing it sets when the job is next due."""

    __tablename__ = "job_leases"

    job: Mapped[str] = mapped_column(String(80), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(120))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    next_run_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_outcome: Mapped[str | None] = mapped_column(Text)


class JobRunRow(Base):
    """One run of a job by one worker: when, by whom, how it ended, what it did."""

    __tablename__ = "job_runs"

    run_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    job: Mapped[str] = mapped_column(String(80), index=True)
    holder: Mapped[str] = mapped_column(String(120))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str | None] = mapped_column(Text)
