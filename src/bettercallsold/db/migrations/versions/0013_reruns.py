"""re-runs: an execution names the one it re-runs

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain reference, no foreign key: deleting executions (a tenant's, in bulk) never has
    # to look for the re-runs that name them, and a re-run keeps naming its original.
    op.add_column("automation_executions", sa.Column("rerun_of", sa.UUID(), nullable=True))


def downgrade() -> None:
    op.drop_column("automation_executions", "rerun_of")
