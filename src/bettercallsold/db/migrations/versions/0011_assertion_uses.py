"""service assertions used once: the ids of the ones already spent, until they expire

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "assertion_uses",
        sa.Column("jti", sa.UUID(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_assertion_uses")),
    )
    op.create_index(
        op.f("ix_assertion_uses_expires_at"), "assertion_uses", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_assertion_uses_expires_at"), table_name="assertion_uses")
    op.drop_table("assertion_uses")
