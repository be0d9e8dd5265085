"""Monitoring incidents: a metric out of control with its evidence chart, open →
acknowledged → resolved (one unresolved per metric and segment), and each incident's alert
deliveries to the configured webhooks.

Revision ID: 0018_incidents
Revises: 0017_shadow_decisions
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import repayguard.platform.db

revision = "0018_incidents"
down_revision = "0017_shadow_decisions"
branch_labels = None
depends_on = None

_WHEN = repayguard.platform.db.UtcDateTime
_UNRESOLVED = "state IN ('open', 'acknowledged')"


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("metric", sa.String(length=80), nullable=False),
        sa.Column("segment", sa.String(length=80), nullable=False),
        sa.Column("detector", sa.String(length=12), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("since_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("sigma", sa.Float(), nullable=False),
        sa.Column("deviation_sigma", sa.Float(), nullable=False),
        sa.Column("change_pct", sa.Float(), nullable=True),
        sa.Column("thresholds_version", sa.String(length=40), nullable=False),
        sa.Column("thresholds_sha256", sa.String(length=64), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("opened_at", _WHEN(timezone=True), nullable=False),
        sa.Column("opened_by", sa.String(length=120), nullable=False),
        sa.Column("acknowledged_at", _WHEN(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=120), nullable=True),
        sa.Column("resolved_at", _WHEN(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=120), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_at", _WHEN(timezone=True), nullable=False),
        sa.CheckConstraint(
            "state IN ('open', 'acknowledged', 'resolved')", name=op.f("ck_incidents_known_state")
        ),
        sa.CheckConstraint(
            "direction IN ('up', 'down')", name=op.f("ck_incidents_known_direction")
        ),
        sa.CheckConstraint(
            "since_day <= last_day", name=op.f("ck_incidents_since_before_last_day")
        ),
        sa.CheckConstraint(
            "(state = 'open' AND acknowledged_at IS NULL AND resolved_at IS NULL) "
            "OR (state = 'acknowledged' AND acknowledged_at IS NOT NULL "
            "AND resolved_at IS NULL) "
            "OR (state = 'resolved' AND resolved_at IS NOT NULL)",
            name=op.f("ck_incidents_steps_recorded"),
        ),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incidents")),
    )
    op.create_index(
        "uq_incidents_unresolved_metric_segment",
        "incidents",
        ["metric", "segment"],
        unique=True,
        sqlite_where=sa.text(_UNRESOLVED),
        postgresql_where=sa.text(_UNRESOLVED),
    )
    op.create_index("ix_incidents_state_opened", "incidents", ["state", "opened_at"])
    op.create_index(
        "ix_incidents_metric_segment_last_day", "incidents", ["metric", "segment", "last_day"]
    )
    op.create_table(
        "incident_alerts",
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.Column("webhook", sa.String(length=500), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _WHEN(timezone=True), nullable=True),
        sa.Column("delivered_at", _WHEN(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.incident_id"],
            name=op.f("fk_incident_alerts_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("incident_id", "webhook", name=op.f("pk_incident_alerts")),
    )
    op.create_index("ix_incident_alerts_next_attempt_at", "incident_alerts", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_alerts_next_attempt_at", table_name="incident_alerts")
    op.drop_table("incident_alerts")
    op.drop_index("ix_incidents_metric_segment_last_day", table_name="incidents")
    op.drop_index("ix_incidents_state_opened", table_name="incidents")
    op.drop_index("uq_incidents_unresolved_metric_segment", table_name="incidents")
    op.drop_table("incidents")
