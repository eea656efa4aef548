"""flows part 2 (waits, schedules) and the causation tree's action budget

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("platform_events", sa.Column("causation_root_event_id", sa.String(length=40)))
    op.create_table(
        "receiver_action_budgets",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("root_event_id", sa.String(length=40), nullable=False),
        sa.Column("actions", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_receiver_action_budgets_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "root_event_id", name=op.f("pk_receiver_action_budgets")
        ),
    )
    op.create_index("ix_receiver_action_budgets_created", "receiver_action_budgets", ["created_at"])
    op.add_column("automation_flows", sa.Column("schedule", postgresql.JSONB()))
    op.add_column("automation_flows", sa.Column("next_run_at", sa.DateTime(timezone=True)))
    op.create_index(
        "ix_automation_flows_schedule_due",
        "automation_flows",
        ["next_run_at"],
        postgresql_where=sa.text("status = 'active' AND trigger_event = 'schedule'"),
    )
    op.add_column("automation_executions", sa.Column("root_event_id", sa.String(40)))
    op.add_column("automation_executions", sa.Column("resume_at", sa.DateTime(timezone=True)))
    op.add_column("automation_executions", sa.Column("state", postgresql.JSONB()))
    op.create_index(
        "ix_automation_executions_flow_waiting",
        "automation_executions",
        ["flow_id"],
        postgresql_where=sa.text("status = 'waiting'"),
    )


def downgrade() -> None:
    op.drop_table("receiver_action_budgets")
    op.drop_column("platform_events", "causation_root_event_id")
    op.drop_index("ix_automation_executions_flow_waiting", table_name="automation_executions")
    op.drop_column("automation_executions", "state")
    op.drop_column("automation_executions", "resume_at")
    op.drop_column("automation_executions", "root_event_id")
    op.drop_index("ix_automation_flows_schedule_due", table_name="automation_flows")
    op.drop_column("automation_flows", "next_run_at")
    op.drop_column("automation_flows", "schedule")
