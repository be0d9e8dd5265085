"""Scheduler: job leases (one holder at a time) and the record of every job run.

Revision ID: 0008_scheduler
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0008_scheduler"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("job", sa.String(length=80), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=True),
        sa.Column("lease_until", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_started_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "last_finished_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_outcome", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_job_leases")),
    )
    op.create_table(
        "job_runs",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("job", sa.String(length=80), nullable=False),
        sa.Column("holder", sa.String(length=120), nullable=False),
        sa.Column("started_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_job_runs")),
    )
    op.create_index(op.f("ix_job_runs_job"), "job_runs", ["job"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_job_runs_job"), table_name="job_runs")
    op.drop_table("job_runs")
    op.drop_table("job_leases")
