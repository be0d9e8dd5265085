"""Initial schema: events, quarantine, batches, outbox, decisions, entitlements.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "decision_runs",
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("as_of", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("started_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("borrowers", sa.Integer(), nullable=False),
        sa.Column("changed", sa.Integer(), nullable=False),
        sa.Column("tightened", sa.Integer(), nullable=False),
        sa.Column("loosened", sa.Integer(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("policy_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_decision_runs")),
    )
    op.create_table(
        "decisions",
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("as_of", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("inputs", sa.String(), nullable=False),
        sa.Column("pd", sa.Float(), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=False),
        sa.Column("model_version", sa.String(length=64), nullable=False),
        sa.Column("policy_version", sa.String(length=64), nullable=False),
        sa.Column("policy_hash", sa.String(length=64), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("auto_debit", sa.String(length=16), nullable=False),
        sa.Column("early_repayment", sa.String(length=16), nullable=False),
        sa.Column("manual", sa.String(length=16), nullable=False),
        sa.Column("manual_channels", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("requires_approval", sa.Boolean(), nullable=False),
        sa.Column("notice_days", sa.SmallInteger(), nullable=False),
        sa.Column("max_days", sa.SmallInteger(), nullable=True),
        sa.Column("review_after_days", sa.SmallInteger(), nullable=True),
        sa.Column("guardrail", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("decision_id", name=op.f("pk_decisions")),
    )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_decisions_borrower_id"), ["borrower_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_decisions_run_id"), ["run_id"], unique=False)

    op.create_table(
        "entitlements",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("loan_scope", sa.String(length=64), nullable=False),
        sa.Column("auto_debit", sa.String(length=16), nullable=False),
        sa.Column("early_repayment", sa.String(length=16), nullable=False),
        sa.Column("manual", sa.String(length=16), nullable=False),
        sa.Column("manual_channels", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("interim", sa.JSON(), nullable=True),
        sa.Column(
            "effective_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("expires_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("review_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("decision_id", sa.String(length=32), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("tier", sa.SmallInteger(), nullable=True),
        sa.Column("tier_since", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", "loan_scope", name=op.f("pk_entitlements")),
    )
    op.create_table(
        "events",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("schema_version", sa.SmallInteger(), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=True),
        sa.Column("loan_id", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.Float(), nullable=True),
        sa.Column("balance", sa.Float(), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("early", sa.Boolean(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("inquiries", sa.Integer(), nullable=True),
        sa.Column("external_debt", sa.Float(), nullable=True),
        sa.Column("series", sa.String(length=64), nullable=True),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_borrower_time", ["borrower_id", "occurred_at"], unique=False
        )

    op.create_table(
        "ingest_batches",
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("received_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("batch_id", name=op.f("pk_ingest_batches")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("published_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_outbox_message_id")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_name"), ["name"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_published_at"), ["published_at"], unique=False)

    op.create_table(
        "processed_messages",
        sa.Column("consumer", sa.String(length=120), nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column(
            "processed_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_processed_messages")),
    )
    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.String(length=32), nullable=False),
        sa.Column("record_index", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=200), nullable=True),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.Column("received_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_batch_id"), ["batch_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_batch_id"))

    op.drop_table("quarantine")
    op.drop_table("processed_messages")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_published_at"))
        batch_op.drop_index(batch_op.f("ix_outbox_name"))

    op.drop_table("outbox")
    op.drop_table("ingest_batches")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_borrower_time")

    op.drop_table("events")
    op.drop_table("entitlements")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_decisions_run_id"))
        batch_op.drop_index(batch_op.f("ix_decisions_borrower_id"))

    op.drop_table("decisions")
    op.drop_table("decision_runs")
