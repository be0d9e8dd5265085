"""Evaluation cadence: what caused each decision run (``decision_runs.trigger``) and each
borrower's latest decision (``last_decisions``), from which the worker finds who is due.

Runs recorded before this revision get the trigger their mode implies (online: ``events``;
review, appeal: themselves; batch: ``cli``, the only batch driver there was); the latest
decision of every borrower is copied from the decision log.

Revision ID: 0014_evaluation_cadence
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0014_evaluation_cadence"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("decision_runs") as table:
        table.add_column(sa.Column("trigger", sa.String(length=48), nullable=True))
    op.execute(
        "UPDATE decision_runs SET trigger = CASE mode WHEN 'online' THEN 'events' "
        "WHEN 'review' THEN 'review' WHEN 'appeal' THEN 'appeal' ELSE 'cli' END"
    )
    with op.batch_alter_table("decision_runs") as table:
        table.alter_column("trigger", existing_type=sa.String(length=48), nullable=False)
        table.create_index(table.f("ix_decision_runs_started_at"), ["started_at"], unique=False)
    op.create_table(
        "last_decisions",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("decided_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", name=op.f("pk_last_decisions")),
    )
    op.create_index(
        "ix_last_decisions_tier_decided", "last_decisions", ["tier", "decided_at"], unique=False
    )
    op.execute(
        "INSERT INTO last_decisions (borrower_id, tier, decided_at, run_id) "
        "SELECT borrower_id, tier, as_of, run_id FROM ("
        "  SELECT borrower_id, tier, as_of, run_id, row_number() OVER ("
        "    PARTITION BY borrower_id ORDER BY as_of DESC, decision_id DESC) AS rank"
        "  FROM decisions) AS latest "
        "WHERE rank = 1"
    )


def downgrade() -> None:
    op.drop_index("ix_last_decisions_tier_decided", table_name="last_decisions")
    op.drop_table("last_decisions")
    with op.batch_alter_table("decision_runs") as table:
        table.drop_index(table.f("ix_decision_runs_started_at"))
        table.drop_column("trigger")
