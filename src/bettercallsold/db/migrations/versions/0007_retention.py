"""retention: the time indexes the hourly purges walk (oldest first, never a full scan), and
the tally of purged deliveries that keeps `bcs_deliveries_total` from going down

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_purged_deliveries",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("status", name=op.f("pk_webhook_purged_deliveries")),
    )
    # IF NOT EXISTS: on a large database, build them first with CREATE INDEX CONCURRENTLY
    # (same names) and this migration, which runs in one transaction, skips the blocking build.
    op.create_index(
        "ix_platform_events_occurred", "platform_events", ["occurred_at"], if_not_exists=True
    )
    op.create_index(
        "ix_automation_received_events_received",
        "automation_received_events",
        ["received_at"],
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_table("webhook_purged_deliveries")
    op.drop_index("ix_automation_received_events_received", table_name="automation_received_events")
    op.drop_index("ix_platform_events_occurred", table_name="platform_events")
