"""flow versions (every saved change of a flow kept, executions name theirs) and the executions list's filters

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The executions list's `q`: the trigger data's strings and numbers, at any depth, lowercased
# (values over 200 characters left out: nobody types them, and they would bloat the index).
# IMMUTABLE so an index can be built on it; `jsonb_path_query` (not its `_tz` twin) and `lower`
# are. An exact value, not a substring: an email or an order id is looked up in the GIN index
# without an extension (pg_trgm is contrib, not on every server the contract allows).
# COST 10000: what it is, next to a comparison. PostgreSQL has no statistics of its mostly
# unique values and guesses 0.5 % of rows match; at the default cost it would then walk a
# tenant's executions newest first calling it on each (20 s at 1,000,000) rather than ask the
# GIN index (2 ms).
_SEARCH_VALUES = """
CREATE OR REPLACE FUNCTION automation_search_values(data jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE COST 10000 AS $$
    SELECT coalesce(array_agg(DISTINCT lower(value #>> '{}')), '{}')
    FROM jsonb_path_query(data, 'strict $.**') AS value
    WHERE jsonb_typeof(value) IN ('string', 'number') AND length(value #>> '{}') <= 200
$$
"""


def upgrade() -> None:
    op.create_table(
        "automation_flow_versions",
        sa.Column("flow_id", sa.UUID(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("trigger_event", sa.String(length=64), nullable=False),
        sa.Column("flow_definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        # The flow's `schedule` (added to flows by 0012); null for event-triggered flows.
        sa.Column("schedule", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["flow_id"],
            ["automation_flows.id"],
            name=op.f("fk_automation_flow_versions_flow_id_automation_flows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_automation_flow_versions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("flow_id", "version", name=op.f("pk_automation_flow_versions")),
    )
    op.create_index(
        op.f("ix_automation_flow_versions_tenant_id"), "automation_flow_versions", ["tenant_id"]
    )
    op.add_column(
        "automation_flows",
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
    )
    # Every existing flow's current state is its version 1.
    op.execute(
        """
        INSERT INTO automation_flow_versions
            (flow_id, version, tenant_id, name, trigger_event, flow_definition, created_at)
        SELECT id, 1, tenant_id, name, trigger_event, flow_definition, updated_at
        FROM automation_flows
        """
    )
    op.add_column("automation_executions", sa.Column("flow_version", sa.Integer(), nullable=True))

    # The executions list's filters; each index ends in (started_at, id), the keyset's order.
    op.drop_index("ix_automation_executions_flow_started", table_name="automation_executions")
    op.create_index(
        "ix_automation_executions_flow_started",
        "automation_executions",
        ["flow_id", "started_at", "id"],
    )
    op.create_index(
        "ix_automation_executions_tenant_status_started",
        "automation_executions",
        ["tenant_id", "status", "started_at", "id"],
    )
    op.execute(_SEARCH_VALUES)
    op.create_index(
        "ix_automation_executions_search_values",
        "automation_executions",
        [sa.text("automation_search_values(trigger_data)")],
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_automation_executions_search_values", table_name="automation_executions")
    op.execute("DROP FUNCTION IF EXISTS automation_search_values(jsonb)")
    op.drop_index(
        "ix_automation_executions_tenant_status_started", table_name="automation_executions"
    )
    op.drop_index("ix_automation_executions_flow_started", table_name="automation_executions")
    op.create_index(
        "ix_automation_executions_flow_started",
        "automation_executions",
        ["flow_id", "started_at"],
    )
    op.drop_column("automation_executions", "flow_version")
    op.drop_column("automation_flows", "version")
    op.drop_index(
        op.f("ix_automation_flow_versions_tenant_id"), table_name="automation_flow_versions"
    )
    op.drop_table("automation_flow_versions")
