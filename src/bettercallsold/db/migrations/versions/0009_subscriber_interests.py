"""subscriber interests: the automation plugin's subscription (over HTTP) receives a tenant's
event only when some active flow of that tenant uses its type

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "webhook_subscriptions",
        sa.Column("by_interest", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.create_table(
        "webhook_subscriber_interests",
        sa.Column("system_key", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_webhook_subscriber_interests_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "system_key", "tenant_id", "event_type", name=op.f("pk_webhook_subscriber_interests")
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_subscriber_interests")
    op.drop_column("webhook_subscriptions", "by_interest")
