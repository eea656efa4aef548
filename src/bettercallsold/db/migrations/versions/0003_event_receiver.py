"""event receiver: idempotency keys

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # automation_event_log already exists (0001); the receiver adds its idempotency keys.
    op.create_table(
        "receiver_idempotency_keys",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("flow_execution_id", sa.UUID(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "results",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column("in_flight", sa.Integer(), nullable=True),
        sa.Column("response", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("lease_token", sa.UUID(), nullable=True),
        sa.Column("leased_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["flow_execution_id"],
            ["automation_executions.id"],
            name=op.f("fk_receiver_idempotency_keys_flow_execution_id_automation_executions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_receiver_idempotency_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_receiver_idempotency_keys")),
    )
    op.create_index(
        "ix_receiver_idempotency_keys_expires_at",
        "receiver_idempotency_keys",
        ["expires_at"],
        unique=False,
    )
    op.create_index(
        "ix_receiver_idempotency_keys_flow_execution_id",
        "receiver_idempotency_keys",
        ["flow_execution_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_receiver_idempotency_keys_flow_execution_id", table_name="receiver_idempotency_keys"
    )
    op.drop_index("ix_receiver_idempotency_keys_expires_at", table_name="receiver_idempotency_keys")
    op.drop_table("receiver_idempotency_keys")
