"""Policy versions: validated drafts and immutable published versions.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "policy_drafts",
        sa.Column("draft_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("submitted_by", sa.String(length=120), nullable=False),
        sa.Column(
            "submitted_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("published_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("draft_id", name=op.f("pk_policy_drafts")),
    )
    with op.batch_alter_table("policy_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_drafts_name"), ["name"], unique=False)

    op.create_table(
        "policy_versions",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=8), nullable=False),
        sa.Column("hit_policy", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.String(length=32), nullable=False),
        sa.Column("published_by", sa.String(length=120), nullable=False),
        sa.Column(
            "published_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_policy_versions")),
        sa.UniqueConstraint("content_hash", name=op.f("uq_policy_versions_content_hash")),
    )


def downgrade() -> None:
    op.drop_table("policy_versions")
    with op.batch_alter_table("policy_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_drafts_name"))
    op.drop_table("policy_drafts")
