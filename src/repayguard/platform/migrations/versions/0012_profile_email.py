"""Borrower profiles get an e-mail address, encrypted like the phone number (the e-mail notice
channel reads it); existing profiles have none.

Revision ID: 0012_profile_email
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_profile_email"
down_revision = "0004"  # where borrower_profiles was created
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A nullable column without a default: both SQLite and PostgreSQL add it in place.
    op.add_column("borrower_profiles", sa.Column("email_enc", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("borrower_profiles", schema=None) as batch_op:
        batch_op.drop_column("email_enc")
