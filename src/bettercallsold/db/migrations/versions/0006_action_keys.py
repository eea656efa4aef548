"""platform events: the event receiver's action key (a flow action is performed once)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("platform_events", sa.Column("action_key", sa.String(length=64), nullable=True))
    op.create_index(
        "uq_platform_events_tenant_action_key",
        "platform_events",
        ["tenant_id", "action_key"],
        unique=True,
        postgresql_where=sa.text("action_key IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_platform_events_tenant_action_key", table_name="platform_events")
    op.drop_column("platform_events", "action_key")
