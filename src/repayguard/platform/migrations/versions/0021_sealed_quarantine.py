"""Sealed quarantine: a rejected record's raw text is encrypted under data key ``key_id``, and
rows are found by age (``ix_quarantine_received_at``) to expire them.

Rows written before this revision hold their record in clear and no key can seal them here (a
migration has no keyring), so their record is dropped: the reasons, the event id and the batch
receipt stay, and ``key_id`` NULL says the record was not kept.

Revision ID: 0021_sealed_quarantine
Revises: 0019_emergency_overlays
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_sealed_quarantine"
down_revision = "0019_emergency_overlays"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.add_column(sa.Column("key_id", sa.String(length=40), nullable=True))
        batch_op.create_index("ix_quarantine_received_at", ["received_at"], unique=False)
    op.execute("UPDATE quarantine SET raw = '' WHERE key_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index("ix_quarantine_received_at")
        batch_op.drop_column("key_id")
