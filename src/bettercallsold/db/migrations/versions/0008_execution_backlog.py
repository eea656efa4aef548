"""execution backlog: a partial index on a tenant's running executions, counted (up to a cap)
when an event starts flows, to give that tenant's new jobs their fair priority

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_automation_executions_tenant_running",
        "automation_executions",
        ["tenant_id"],
        postgresql_where=sa.text("status = 'running'"),
        if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index("ix_automation_executions_tenant_running", table_name="automation_executions")
