"""Remedies of reversed restrictions, and ``remedy`` as a kind of approval request.

Revision ID: 0016_remedies
Revises: 0014_evaluation_cadence, 0006_approvals (the approval kinds it widens)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db
from repayguard.platform.migrations.approval_kinds import set_approval_kinds

revision = "0016_remedies"
# Also after 0006_approvals, whose approval_requests this widens: a merge of the two branches
# (as a dependency instead, 0006 would stay a script head the database never records).
down_revision = ("0015_hardship_cases", "0006_approvals")
branch_labels = None
depends_on = None

_OLD_KINDS = ("policy_publish", "model_promote", "override", "decision", "emergency_review")
_NEW_KINDS = (*_OLD_KINDS, "remedy")


def upgrade() -> None:
    op.create_table(
        "remedies",
        sa.Column("remedy_id", sa.String(length=32), nullable=False),
        sa.Column("complaint_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("maker_id", sa.String(length=32), nullable=True),
        sa.Column("maker_name", sa.String(length=120), nullable=False),
        sa.Column("approval_id", sa.String(length=32), nullable=True),
        sa.Column("decided_by", sa.String(length=120), nullable=True),
        sa.Column("created_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "next_export_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("exported_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("export_attempts", sa.Integer(), nullable=False),
        sa.Column("export_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('fee_refund', 'early_repayment_refund', 'bureau_correction', 'apology')",
            name=op.f("ck_remedies_known_kind"),
        ),
        sa.CheckConstraint(
            "state IN ('awaiting_approval', 'approved', 'rejected')",
            name=op.f("ck_remedies_known_state"),
        ),
        sa.CheckConstraint("amount_minor >= 0", name=op.f("ck_remedies_amount_not_negative")),
        sa.PrimaryKeyConstraint("remedy_id", name=op.f("pk_remedies")),
        sa.UniqueConstraint("complaint_id", "kind", name="uq_remedies_complaint_kind"),
    )
    op.create_index("ix_remedies_borrower_id", "remedies", ["borrower_id"], unique=False)
    op.create_index("ix_remedies_next_export_at", "remedies", ["next_export_at"], unique=False)
    set_approval_kinds(_NEW_KINDS)


def downgrade() -> None:
    set_approval_kinds(_OLD_KINDS)
    op.drop_index("ix_remedies_next_export_at", table_name="remedies")
    op.drop_index("ix_remedies_borrower_id", table_name="remedies")
    op.drop_table("remedies")
