"""Notices: what each borrower was told (about a change of methods, or another occasion such as
a complaint), delivery per channel, the baseline per borrower.

Revision ID: 0007_notices
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0007_notices"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("notice_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("decision_id", sa.String(length=32), nullable=True),
        sa.Column("rule_id", sa.String(length=64), nullable=True),
        sa.Column("occasion_id", sa.String(length=64), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("what_would_change", sa.JSON(), nullable=False),
        sa.Column("effective_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "occasion_id IS NOT NULL OR (decision_id IS NOT NULL AND rule_id IS NOT NULL)",
            name=op.f("ck_notices_change_or_occasion"),
        ),
        sa.PrimaryKeyConstraint("notice_id", name=op.f("pk_notices")),
        sa.UniqueConstraint(
            "borrower_id", "decision_id", "rule_id", "kind", name=op.f("uq_notices_occasion")
        ),
        sa.UniqueConstraint(
            "borrower_id", "occasion_id", "kind", name=op.f("uq_notices_kind_occasion")
        ),
    )
    op.create_index(
        "ix_notices_borrower_created", "notices", ["borrower_id", "created_at"], unique=False
    )
    op.create_table(
        "notice_deliveries",
        sa.Column("delivery_id", sa.String(length=32), nullable=False),
        sa.Column("notice_id", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("claim_token", sa.String(length=32), nullable=True),
        sa.Column("updated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["notices.notice_id"],
            name=op.f("fk_notice_deliveries_notice_id_notices"),
        ),
        sa.PrimaryKeyConstraint("delivery_id", name=op.f("pk_notice_deliveries")),
        sa.UniqueConstraint(
            "notice_id", "channel", name=op.f("uq_notice_deliveries_notice_channel")
        ),
    )
    op.create_index(
        "ix_notice_deliveries_due",
        "notice_deliveries",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "notice_baselines",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("entitlement", sa.JSON(), nullable=False),
        sa.Column("updated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", name=op.f("pk_notice_baselines")),
    )


def downgrade() -> None:
    op.drop_table("notice_baselines")
    op.drop_index("ix_notice_deliveries_due", table_name="notice_deliveries")
    op.drop_table("notice_deliveries")
    op.drop_index("ix_notices_borrower_created", table_name="notices")
    op.drop_table("notices")
