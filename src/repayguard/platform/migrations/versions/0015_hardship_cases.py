"""Hardship cases (G5): a borrower's request for relief with its SLA, sealed evidence and
review note, and how it closed. While one is open the borrower's ``open_hardship`` flag
(``borrower_flags``, 0011_complaints) is up.

Revision ID: 0015_hardship_cases
Revises: 0014_evaluation_cadence
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0015_hardship_cases"
down_revision = "0014_evaluation_cadence"
branch_labels = None
depends_on = None

_OUTCOMES = "'granted', 'declined', 'withdrawn'"


def upgrade() -> None:
    op.create_table(
        "hardship_cases",
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("evidence_enc", sa.Text(), nullable=False),
        sa.Column("note_enc", sa.Text(), nullable=True),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("opener_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("opened_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("escalation", sa.String(length=12), nullable=True),
        sa.Column("escalated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reviewer_id", sa.String(length=32), nullable=True),
        sa.Column("reviewer_name", sa.String(length=120), nullable=True),
        sa.Column("closed_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            f"status IN ('open', {_OUTCOMES})", name=op.f("ck_hardship_cases_known_status")
        ),
        sa.CheckConstraint(
            "reason IN ('job_loss', 'illness', 'natural_disaster', 'family_emergency', 'other')",
            name=op.f("ck_hardship_cases_known_reason"),
        ),
        sa.CheckConstraint(
            "escalation IS NULL OR escalation IN ('due_soon', 'overdue')",
            name=op.f("ck_hardship_cases_known_escalation"),
        ),
        sa.CheckConstraint("due_at > opened_at", name=op.f("ck_hardship_cases_due_after_opening")),
        sa.CheckConstraint(
            "(status = 'open' AND closed_at IS NULL AND note_enc IS NULL) "
            f"OR (status IN ({_OUTCOMES}) AND closed_at IS NOT NULL AND note_enc IS NOT NULL)",
            name=op.f("ck_hardship_cases_closed_with_note"),
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_hardship_cases")),
    )
    op.create_index(
        "uq_hardship_cases_open_borrower",
        "hardship_cases",
        ["borrower_id"],
        unique=True,
        sqlite_where=sa.text("status = 'open'"),
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_index("ix_hardship_cases_status_due_at", "hardship_cases", ["status", "due_at"])
    op.create_index(
        "ix_hardship_cases_borrower_opened", "hardship_cases", ["borrower_id", "opened_at"]
    )
    op.create_index(op.f("ix_hardship_cases_key_id"), "hardship_cases", ["key_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_hardship_cases_key_id"), table_name="hardship_cases")
    op.drop_index("ix_hardship_cases_borrower_opened", table_name="hardship_cases")
    op.drop_index("ix_hardship_cases_status_due_at", table_name="hardship_cases")
    op.drop_index("uq_hardship_cases_open_borrower", table_name="hardship_cases")
    op.drop_table("hardship_cases")
