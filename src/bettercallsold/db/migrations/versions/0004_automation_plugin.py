"""automation plugin: received events and flow runs

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "automation_received_events",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("webhook_id", sa.String(length=200), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("causation_execution_id", sa.UUID(), nullable=True),
        sa.Column("causation_depth", sa.Integer(), nullable=False),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_automation_received_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_automation_received_events_event_id")),
        sa.UniqueConstraint("webhook_id", name=op.f("uq_automation_received_events_webhook_id")),
    )
    op.create_index(
        op.f("ix_automation_received_events_tenant_id"),
        "automation_received_events",
        ["tenant_id"],
        unique=False,
    )
    op.add_column(
        "automation_executions",
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("automation_executions", "definition")
    op.drop_index(
        op.f("ix_automation_received_events_tenant_id"), table_name="automation_received_events"
    )
    op.drop_table("automation_received_events")
