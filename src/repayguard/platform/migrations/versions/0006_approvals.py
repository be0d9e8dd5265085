"""Maker-checker approvals (with the rules the database enforces) and entitlement overrides.

Revision ID: 0006_approvals
Revises: 0001 (needs 0005: makers and checkers are operators)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0006_approvals"
down_revision = "0001"
branch_labels = None
depends_on = "0005"

_DECIDED_ONCE = (
    "approval requests are decided once and what was submitted never changes "
    "(maker, payload, hash, expiry)"
)
# Every column a decision may not touch; the outcome columns (state, checker, comment,
# decided_at) change once, from pending.
_FROZEN = (
    "request_id",
    "kind",
    "subject",
    "category",
    "summary",
    "payload",
    "payload_sha256",
    "reason",
    "maker_id",
    "maker_name",
    "created_at",
    "expires_at",
)


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=100), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("payload_sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("maker_id", sa.String(length=32), nullable=True),
        sa.Column("maker_name", sa.String(length=120), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("created_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("checker_id", sa.String(length=32), nullable=True),
        sa.Column("checker_name", sa.String(length=120), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.CheckConstraint(
            "checker_id <> maker_id", name=op.f("ck_approval_requests_checker_not_maker")
        ),
        sa.CheckConstraint(
            "state NOT IN ('approved', 'rejected') OR checker_id IS NOT NULL",
            name=op.f("ck_approval_requests_decided_by_checker"),
        ),
        sa.CheckConstraint(
            "(state = 'pending' AND decided_at IS NULL) "
            "OR (state <> 'pending' AND decided_at IS NOT NULL)",
            name=op.f("ck_approval_requests_decided_at_when_decided"),
        ),
        sa.CheckConstraint(
            "kind IN ('policy_publish', 'model_promote', 'override', 'decision', "
            "'emergency_review')",
            name=op.f("ck_approval_requests_known_kind"),
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected', 'withdrawn', 'expired')",
            name=op.f("ck_approval_requests_known_state"),
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_approval_requests_expires_after_creation")
        ),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["operators.operator_id"],
            name=op.f("fk_approval_requests_checker_id_operators"),
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"],
            ["operators.operator_id"],
            name=op.f("fk_approval_requests_maker_id_operators"),
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_approval_requests")),
    )
    with op.batch_alter_table("approval_requests", schema=None) as batch_op:
        batch_op.create_index(
            "uq_approval_requests_pending_subject",
            ["kind", "subject"],
            unique=True,
            sqlite_where=sa.text("state = 'pending'"),
            postgresql_where=sa.text("state = 'pending'"),
        )
        batch_op.create_index(
            "ix_approval_requests_state_expires_at", ["state", "expires_at"], unique=False
        )
        batch_op.create_index("ix_approval_requests_created_at", ["created_at"], unique=False)
    _decided_once_triggers()

    op.create_table(
        "entitlement_overrides",
        sa.Column("override_id", sa.String(length=32), nullable=False),
        sa.Column("borrower_id", sa.String(length=64), nullable=False),
        sa.Column("states", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=120), nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=False),
        sa.Column("approval_id", sa.String(length=32), nullable=False),
        sa.Column("applied_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "effective_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("expires_at", repayguard.platform.db.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("override_id", name=op.f("pk_entitlement_overrides")),
    )
    with op.batch_alter_table("entitlement_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_entitlement_overrides_borrower_id"), ["borrower_id"], unique=False
        )


def _decided_once_triggers() -> None:
    """The database refuses to edit what was submitted, to decide a request twice, and to
    delete one — whoever writes, with or without repayguard's code."""
    if op.get_bind().dialect.name == "postgresql":
        new = ", ".join(f"NEW.{c}::text" if c == "payload" else f"NEW.{c}" for c in _FROZEN)
        old = ", ".join(f"OLD.{c}::text" if c == "payload" else f"OLD.{c}" for c in _FROZEN)
        op.execute(
            "CREATE FUNCTION approval_requests_decided_once() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP <> 'UPDATE' OR OLD.state <> 'pending' OR ({new}) IS DISTINCT FROM ({old}) "
            f"THEN RAISE EXCEPTION '{_DECIDED_ONCE}'; END IF; RETURN NEW; END $$"
        )
        op.execute(
            "CREATE TRIGGER approval_requests_decided_once BEFORE UPDATE OR DELETE "
            "ON approval_requests FOR EACH ROW EXECUTE FUNCTION approval_requests_decided_once()"
        )
        op.execute(
            "CREATE TRIGGER approval_requests_no_truncate BEFORE TRUNCATE ON approval_requests "
            "FOR EACH STATEMENT EXECUTE FUNCTION approval_requests_decided_once()"
        )
        return
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FROZEN)
    op.execute(
        "CREATE TRIGGER approval_requests_decided_once BEFORE UPDATE ON approval_requests "
        f"WHEN OLD.state <> 'pending' OR {changed} "
        f"BEGIN SELECT RAISE(ABORT, '{_DECIDED_ONCE}'); END"
    )
    op.execute(
        "CREATE TRIGGER approval_requests_no_delete BEFORE DELETE ON approval_requests "
        f"BEGIN SELECT RAISE(ABORT, '{_DECIDED_ONCE}'); END"
    )


def downgrade() -> None:
    with op.batch_alter_table("entitlement_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_entitlement_overrides_borrower_id"))
    op.drop_table("entitlement_overrides")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TABLE approval_requests")
        op.execute("DROP FUNCTION approval_requests_decided_once()")
        return
    op.execute("DROP TRIGGER approval_requests_decided_once")
    op.execute("DROP TRIGGER approval_requests_no_delete")
    op.drop_table("approval_requests")
