"""part boundaries: the receiver's tables no longer hold foreign keys into the plugin's

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Each part owns its tables (`scripts/check_table_ownership.py`): the event receiver keeps the
# plugin's execution id as a plain reference and asks the plugin about it through its port.
# Nothing is lost on delete: an execution goes only with its tenant, which takes these rows too.
_FOREIGN_KEYS = (
    ("automation_event_log", "fk_automation_event_log_flow_execution_id_automation_executions"),
    # Its full name is longer than PostgreSQL's 63 characters: SQLAlchemy shortened it so.
    ("receiver_idempotency_keys", "fk_receiver_idempotency_keys_flow_execution_id_automati_8766"),
)


def upgrade() -> None:
    for table, name in _FOREIGN_KEYS:
        op.drop_constraint(op.f(name), table, type_="foreignkey")


def downgrade() -> None:
    for table, name in _FOREIGN_KEYS:
        op.create_foreign_key(
            op.f(name),
            table,
            "automation_executions",
            ["flow_execution_id"],
            ["id"],
            ondelete="CASCADE",
        )
