"""Complaints and appeals: cases with their SLA and outcome labels; and the open-case flags
(``borrower_flags``, kept by entitlements) through which the policy sees an open appeal. What
the borrower is told about a case is a notice (``notices``, 0007_notices).

Revision ID: 0011_complaints
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0011_complaints"
down_revision = "0001"
branch_labels = None
depends_on = None

_ACTIVE = "status IN ('open', 'reversal_pending')"


def upgrade() -> None:
    op.create_table(
        "borrower_flags",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("flag", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("raised_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "flag IN ('open_appeal', 'open_hardship')", name=op.f("ck_borrower_flags_known_flag")
        ),
        sa.PrimaryKeyConstraint("borrower_id", "flag", "reference", name=op.f("pk_borrower_flags")),
    )
    op.create_table(
        "complaints",
        sa.Column("complaint_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("contested", sa.JSON(), nullable=False),
        sa.Column("statement_enc", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("filed_by", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("filed_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("due_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("escalation", sa.String(length=12), nullable=True),
        sa.Column("escalated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("reviewer_id", sa.String(length=32), nullable=True),
        sa.Column("reviewer_name", sa.String(length=120), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("approval_id", sa.String(length=32), nullable=True),
        sa.Column("resolved_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'reversal_pending', 'upheld', 'reversed')",
            name=op.f("ck_complaints_known_status"),
        ),
        sa.CheckConstraint(
            "escalation IS NULL OR escalation IN ('due_soon', 'overdue')",
            name=op.f("ck_complaints_known_escalation"),
        ),
        sa.CheckConstraint("due_at > filed_at", name=op.f("ck_complaints_due_after_filing")),
        sa.CheckConstraint(
            f"({_ACTIVE} AND resolved_at IS NULL) "
            "OR (status IN ('upheld', 'reversed') AND resolved_at IS NOT NULL)",
            name=op.f("ck_complaints_resolved_at_when_resolved"),
        ),
        sa.CheckConstraint(
            "status NOT IN ('reversal_pending', 'reversed') OR approval_id IS NOT NULL",
            name=op.f("ck_complaints_reversal_has_approval"),
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaints")),
    )
    op.create_index(
        "uq_complaints_active_decision",
        "complaints",
        ["borrower_id", "decision_id"],
        unique=True,
        sqlite_where=sa.text(_ACTIVE),
        postgresql_where=sa.text(_ACTIVE),
    )
    op.create_index("ix_complaints_status_due_at", "complaints", ["status", "due_at"])
    op.create_index("ix_complaints_borrower_filed", "complaints", ["borrower_id", "filed_at"])
    op.create_index(op.f("ix_complaints_key_id"), "complaints", ["key_id"])
    op.create_index(op.f("ix_complaints_approval_id"), "complaints", ["approval_id"])
    op.create_table(
        "complaint_labels",
        sa.Column("complaint_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("as_of", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("resolved_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('upheld', 'reversed')", name=op.f("ck_complaint_labels_known_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.complaint_id"],
            name=op.f("fk_complaint_labels_complaint_id_complaints"),
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaint_labels")),
    )
    op.create_index("ix_complaint_labels_resolved_at", "complaint_labels", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_complaint_labels_resolved_at", table_name="complaint_labels")
    op.drop_table("complaint_labels")
    op.drop_index(op.f("ix_complaints_approval_id"), table_name="complaints")
    op.drop_index(op.f("ix_complaints_key_id"), table_name="complaints")
    op.drop_index("ix_complaints_borrower_filed", table_name="complaints")
    op.drop_index("ix_complaints_status_due_at", table_name="complaints")
    op.drop_index("uq_complaints_active_decision", table_name="complaints")
    op.drop_table("complaints")
    op.drop_table("borrower_flags")
