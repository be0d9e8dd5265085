"""What a decision run could see and decided with, so it can be replayed: the highest event
``seq`` stored when it read its history (``events_seq``) and the tier bands it used.

Revision ID: 0023_replay_cutoff
Revises: 0019_emergency_overlays
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023_replay_cutoff"
down_revision = "0021_sealed_quarantine"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: runs recorded before this revision are replayed with the receipts' times.
    with op.batch_alter_table("decision_runs") as table:
        table.add_column(sa.Column("events_seq", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("bands_version", sa.String(length=64), nullable=True))
        table.add_column(sa.Column("bands_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("decision_runs") as table:
        table.drop_column("bands_hash")
        table.drop_column("bands_version")
        table.drop_column("events_seq")
