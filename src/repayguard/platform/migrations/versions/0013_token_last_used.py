"""When each API token was last used (written with the token-use audit summaries).

Revision ID: 0013
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0013"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.add_column(
            sa.Column(
                "last_used_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as table:
        table.drop_column("last_used_at")
