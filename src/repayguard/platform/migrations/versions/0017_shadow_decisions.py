"""Shadow mode: the challenger policy in effect (``shadow_challenger``) and what it decided
beside every production decision (``shadow_decisions``, keyed by the decision it shadows);
borrower profiles gain region and birth year (encrypted like every personal field), the
groups fairness checks compare.

Revision ID: 0017_shadow_decisions
Revises: 0014_evaluation_cadence
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0017_shadow_decisions"
down_revision = "0016_remedies"
branch_labels = None
# The profile columns need borrower_profiles (0004, last altered in 0012), on another branch.
depends_on = ("0012_profile_email",)


def upgrade() -> None:
    with op.batch_alter_table("borrower_profiles") as table:
        table.add_column(sa.Column("region_enc", sa.Text(), nullable=True))
        table.add_column(sa.Column("birth_year_enc", sa.Text(), nullable=True))
    op.create_table(
        "shadow_challenger",
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("policy_name", sa.String(length=100), nullable=False),
        sa.Column("policy_version", sa.Integer(), nullable=True),
        sa.Column("draft_id", sa.String(length=32), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("set_by", sa.String(length=120), nullable=False),
        sa.Column("set_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_shadow_challenger")),
    )
    op.create_table(
        "shadow_decisions",
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("challenger_name", sa.String(length=64), nullable=False),
        sa.Column("challenger_version", sa.String(length=64), nullable=False),
        sa.Column("challenger_hash", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("auto_debit", sa.String(length=16), nullable=False),
        sa.Column("early_repayment", sa.String(length=16), nullable=False),
        sa.Column("manual", sa.String(length=16), nullable=False),
        sa.Column("manual_channels", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("differs", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_shadow_decisions")),
    )
    op.create_index(
        op.f("ix_shadow_decisions_run_id"), "shadow_decisions", ["run_id"], unique=False
    )
    op.create_index(
        op.f("ix_shadow_decisions_borrower_id"), "shadow_decisions", ["borrower_id"], unique=False
    )
    op.create_index(
        "ix_shadow_decisions_hash_differs",
        "shadow_decisions",
        ["challenger_hash", "differs"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_shadow_decisions_hash_differs", table_name="shadow_decisions")
    op.drop_index(op.f("ix_shadow_decisions_borrower_id"), table_name="shadow_decisions")
    op.drop_index(op.f("ix_shadow_decisions_run_id"), table_name="shadow_decisions")
    op.drop_table("shadow_decisions")
    op.drop_table("shadow_challenger")
    with op.batch_alter_table("borrower_profiles") as table:
        table.drop_column("birth_year_enc")
        table.drop_column("region_enc")
