"""Widening the kinds ``approval_requests`` may hold: the CHECK constraint swapped on
PostgreSQL, the table rebuilt on SQLite (migrations that add an approval kind share this)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

_DECIDED_ONCE = (
    "approval requests are decided once and what was submitted never changes "
    "(maker, payload, hash, expiry)"
)
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


def _kinds(kinds: tuple[str, ...]) -> str:
    return "kind IN (" + ", ".join(f"'{k}'" for k in kinds) + ")"


def set_approval_kinds(kinds: tuple[str, ...]) -> None:
    """Let ``approval_requests.kind`` hold ``kinds``. PostgreSQL swaps the CHECK constraint;
    SQLite rebuilds the table (its constraints live in the CREATE TABLE), so the triggers of
    migration 0006 that refuse edits of decided requests are dropped and made again."""
    name = op.f("ck_approval_requests_known_kind")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(name, "approval_requests", type_="check")
        op.create_check_constraint(name, "approval_requests", _kinds(kinds))
        return
    op.execute("DROP TRIGGER approval_requests_decided_once")
    op.execute("DROP TRIGGER approval_requests_no_delete")
    with op.batch_alter_table(
        "approval_requests", recreate="always", copy_from=_approval_table(kinds)
    ):
        pass
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


def _approval_table(kinds: tuple[str, ...]) -> sa.Table:
    """``approval_requests`` as migration 0006 made it, with ``kinds``."""
    utc = repayguard.platform.db.UtcDateTime(timezone=True)
    return sa.Table(
        "approval_requests",
        sa.MetaData(),
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
        sa.Column("created_at", utc, nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.Column("checker_id", sa.String(length=32), nullable=True),
        sa.Column("checker_name", sa.String(length=120), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("decided_at", utc, nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.CheckConstraint("checker_id <> maker_id", name="ck_approval_requests_checker_not_maker"),
        sa.CheckConstraint(
            "state NOT IN ('approved', 'rejected') OR checker_id IS NOT NULL",
            name="ck_approval_requests_decided_by_checker",
        ),
        sa.CheckConstraint(
            "(state = 'pending' AND decided_at IS NULL) "
            "OR (state <> 'pending' AND decided_at IS NOT NULL)",
            name="ck_approval_requests_decided_at_when_decided",
        ),
        sa.CheckConstraint(_kinds(kinds), name="ck_approval_requests_known_kind"),
        sa.CheckConstraint(
            "state IN ('pending', 'approved', 'rejected', 'withdrawn', 'expired')",
            name="ck_approval_requests_known_state",
        ),
        sa.CheckConstraint(
            "expires_at > created_at", name="ck_approval_requests_expires_after_creation"
        ),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["operators.operator_id"],
            name="fk_approval_requests_checker_id_operators",
        ),
        sa.ForeignKeyConstraint(
            ["maker_id"], ["operators.operator_id"], name="fk_approval_requests_maker_id_operators"
        ),
        sa.PrimaryKeyConstraint("request_id", name="pk_approval_requests"),
        sa.Index(
            "uq_approval_requests_pending_subject",
            "kind",
            "subject",
            unique=True,
            sqlite_where=sa.text("state = 'pending'"),
        ),
        sa.Index("ix_approval_requests_state_expires_at", "state", "expires_at"),
        sa.Index("ix_approval_requests_created_at", "created_at"),
    )
