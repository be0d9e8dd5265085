"""Audit chain (append-only records, head row), encrypted borrower profiles, idempotency keys.

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

_APPEND_ONLY = "audit_records is append-only"


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("message_id", sa.String(length=32), nullable=False),
        sa.Column("occurred_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=120), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_records")),
    )
    with op.batch_alter_table("audit_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_records_action"), ["action"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_audit_records_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_audit_records_occurred_at"), ["occurred_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_audit_records_subject"), ["subject"], unique=False)

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("chain_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("checkpoint_seq", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.bulk_insert(
        head,
        [
            {
                "id": 1,
                "chain_id": uuid.uuid4().hex,
                "seq": 0,
                "hash": "0" * 64,
                "checkpoint_seq": 0,
                "updated_at": datetime.now(UTC),
            }
        ],
    )
    _append_only_triggers()

    op.create_table(
        "borrower_profiles",
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("name_enc", sa.Text(), nullable=False),
        sa.Column("phone_enc", sa.Text(), nullable=True),
        sa.Column("national_id_enc", sa.Text(), nullable=True),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("key_id", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("borrower_id", name=op.f("pk_borrower_profiles")),
    )
    with op.batch_alter_table("borrower_profiles", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_borrower_profiles_key_id"), ["key_id"], unique=False)

    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_type", sa.String(length=200), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "locked_until", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("expires_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "key", name=op.f("pk_idempotency_keys")),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )


def _append_only_triggers() -> None:
    """The database itself refuses to change or remove audit records (a bug cannot; someone
    with the rights to drop triggers still can, which the chain and checkpoints then show)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_records_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_APPEND_ONLY}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_records_no_change BEFORE UPDATE OR DELETE ON audit_records "
            "FOR EACH ROW EXECUTE FUNCTION audit_records_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_records_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_records_no_{event.lower()} BEFORE {event} ON audit_records "
            f"BEGIN SELECT RAISE(ABORT, '{_APPEND_ONLY}'); END"
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("borrower_profiles", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_borrower_profiles_key_id"))
    op.drop_table("borrower_profiles")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE audit_records")
        op.execute("DROP FUNCTION audit_records_append_only()")
    else:
        op.execute("DROP TRIGGER audit_records_no_update")
        op.execute("DROP TRIGGER audit_records_no_delete")
        op.drop_table("audit_records")
    op.drop_table("audit_head")
