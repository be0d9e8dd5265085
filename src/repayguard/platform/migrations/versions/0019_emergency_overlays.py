"""Emergency overlays: playbooks by version (draft, approved), the overlays armed from them,
the overlay that changed each decision (``decisions.overlay_id``), and ``playbook_approve`` as
a kind of approval request.

Revision ID: 0019_emergency_overlays
Revises: 0017_shadow_decisions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db
from repayguard.platform.migrations.approval_kinds import set_approval_kinds

revision = "0019_emergency_overlays"
down_revision = "0018_incidents"
branch_labels = None
depends_on = None

_OLD_KINDS = (
    "policy_publish",
    "model_promote",
    "override",
    "decision",
    "emergency_review",
    "remedy",
)
_NEW_KINDS = (*_OLD_KINDS, "playbook_approve")


def upgrade() -> None:
    utc = repayguard.platform.db.UtcDateTime(timezone=True)
    op.create_table(
        "playbooks",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("submitted_by", sa.String(length=120), nullable=False),
        sa.Column("submitted_at", utc, nullable=False),
        sa.Column("approved_by", sa.String(length=120), nullable=True),
        sa.Column("approved_at", utc, nullable=True),
        sa.CheckConstraint("state IN ('draft', 'approved')", name=op.f("ck_playbooks_known_state")),
        sa.PrimaryKeyConstraint("name", "version", name=op.f("pk_playbooks")),
    )
    op.create_table(
        "overlays",
        sa.Column("overlay_id", sa.String(length=32), nullable=False),
        sa.Column("playbook_name", sa.String(length=64), nullable=False),
        sa.Column("playbook_version", sa.Integer(), nullable=False),
        sa.Column("playbook_hash", sa.String(length=64), nullable=False),
        sa.Column("armed_by", sa.String(length=120), nullable=False),
        sa.Column("armed_by_id", sa.String(length=32), nullable=True),
        sa.Column("incident_id", sa.String(length=64), nullable=True),
        sa.Column("armed_at", utc, nullable=False),
        sa.Column("expires_at", utc, nullable=False),
        sa.Column("review_due_at", utc, nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=120), nullable=True),
        sa.Column("reviewed_at", utc, nullable=True),
        sa.Column("lifted_by", sa.String(length=120), nullable=True),
        sa.Column("lifted_at", utc, nullable=True),
        sa.CheckConstraint(
            "state IN ('armed', 'reviewed', 'lifted', 'expired', 'lapsed')",
            name=op.f("ck_overlays_known_state"),
        ),
        sa.CheckConstraint("expires_at > armed_at", name=op.f("ck_overlays_expires_after_arming")),
        sa.PrimaryKeyConstraint("overlay_id", name=op.f("pk_overlays")),
        sa.UniqueConstraint("incident_id", "playbook_name", name="uq_overlays_incident_playbook"),
    )
    op.create_index("ix_overlays_state_expires_at", "overlays", ["state", "expires_at"])
    op.create_index(op.f("ix_overlays_state"), "overlays", ["state"])
    with op.batch_alter_table("decisions") as table:
        table.add_column(sa.Column("overlay_id", sa.String(length=32), nullable=True))
    set_approval_kinds(_NEW_KINDS)


def downgrade() -> None:
    set_approval_kinds(_OLD_KINDS)
    with op.batch_alter_table("decisions") as table:
        table.drop_column("overlay_id")
    op.drop_index(op.f("ix_overlays_state"), table_name="overlays")
    op.drop_index("ix_overlays_state_expires_at", table_name="overlays")
    op.drop_table("overlays")
    op.drop_table("playbooks")
