"""Decisions that repeat their borrower's latest one are logged per chunk, not per row
(``decision_repeats``), and ``last_decisions`` keeps where the latest content is and its
digest, so a run knows which of its decisions are repeats.

Revision ID: 0024_decision_repeats
Revises: 0023_replay_cutoff
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0024_decision_repeats"
down_revision = "0023_replay_cutoff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_repeats",
        sa.Column("id_prefix", sa.String(length=24), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("as_of", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("first_borrower", sa.String(length=64), nullable=False),
        sa.Column("last_borrower", sa.String(length=64), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id_prefix", name=op.f("pk_decision_repeats")),
    )
    op.create_index(
        op.f("ix_decision_repeats_run_id"), "decision_repeats", ["run_id"], unique=False
    )
    op.create_index(op.f("ix_decision_repeats_as_of"), "decision_repeats", ["as_of"], unique=False)
    with op.batch_alter_table("last_decisions") as table:
        table.add_column(sa.Column("content_id", sa.String(length=32), nullable=True))
        table.add_column(sa.Column("digest", sa.BigInteger(), nullable=True))
    # Every latest decision so far is a full row of its run; its digest is left unknown, so
    # the first run after this revision logs each borrower in full once.
    op.execute(
        "UPDATE last_decisions SET content_id = ("
        " SELECT d.decision_id FROM decisions d"
        " WHERE d.run_id = last_decisions.run_id AND d.borrower_id = last_decisions.borrower_id"
        " ORDER BY d.decision_id DESC LIMIT 1)"
    )


def downgrade() -> None:
    with op.batch_alter_table("last_decisions") as table:
        table.drop_column("digest")
        table.drop_column("content_id")
    op.drop_index(op.f("ix_decision_repeats_as_of"), table_name="decision_repeats")
    op.drop_index(op.f("ix_decision_repeats_run_id"), table_name="decision_repeats")
    op.drop_table("decision_repeats")
