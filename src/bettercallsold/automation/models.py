"""The seed's flow and execution tables (names and columns kept), plus our extra columns, and
the events the plugin has received (its de-duplication record and the engine jobs' input)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bettercallsold.db.base import Base
from bettercallsold.db.columns import CreatedAt, TenantForeignKey, UpdatedAt, UUIDPrimaryKey


class AutomationFlow(Base):
    __tablename__ = "automation_flows"
    __table_args__ = (
        # The engine's lookup: a tenant's active flows for one event type, never a scan.
        Index(
            "ix_automation_flows_active_trigger",
            "tenant_id",
            "trigger_event",
            postgresql_where=text("status = 'active'"),
        ),
        # The schedule tick's claim: active scheduled flows by due time.
        Index(
            "ix_automation_flows_schedule_due",
            "next_run_at",
            postgresql_where=text("status = 'active' AND trigger_event = 'schedule'"),
        ),
    )

    id: Mapped[UUIDPrimaryKey]
    tenant_id: Mapped[TenantForeignKey]
    name: Mapped[str] = mapped_column(String(200))
    trigger_event: Mapped[str] = mapped_column(String(64))
    flow_definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default=text("1"))
    """The newest of the flow's versions (`AutomationFlowVersion`): what a new execution runs."""
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """`{"cron", "timezone"}` of a flow triggered by `schedule` (`schedules.py`)."""
    next_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """A scheduled flow's next due time (UTC), moved on by each tick."""


class AutomationFlowVersion(Base):
    """One saved state of a flow, never changed once written: every create, and every update
    that changes a versioned field (`versions.VERSIONED_FIELDS`), adds the next one. Deleted
    with its flow; executions keep their own copy of the definition."""

    __tablename__ = "automation_flow_versions"

    flow_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True),
        ForeignKey("automation_flows.id", ondelete="CASCADE"),
        primary_key=True,
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[TenantForeignKey]
    name: Mapped[str] = mapped_column(String(200))
    trigger_event: Mapped[str] = mapped_column(String(64))
    flow_definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    created_at: Mapped[CreatedAt]


class AutomationExecution(Base):
    __tablename__ = "automation_executions"
    __table_args__ = (
        Index("ix_automation_executions_tenant_started", "tenant_id", "started_at", "id"),
        # The executions list's filters (`execution_list.py`), each walked newest first.
        Index("ix_automation_executions_flow_started", "flow_id", "started_at", "id"),
        Index(
            "ix_automation_executions_tenant_status_started",
            "tenant_id",
            "status",
            "started_at",
            "id",
        ),
        # `q`: every string and number of the trigger data, lowercased (a SQL function of
        # migration 0010), in a GIN index that answers `@> ARRAY[q]`.
        Index(
            "ix_automation_executions_search_values",
            func.automation_search_values(text("trigger_data")),
            postgresql_using="gin",
        ),
        # One execution per (flow, event): a redelivered event never runs a flow twice.
        Index("uq_automation_executions_flow_event", "flow_id", "event_id", unique=True),
        # Pausing or deleting a flow cancels its waiting executions.
        Index(
            "ix_automation_executions_flow_waiting",
            "flow_id",
            postgresql_where=text("status = 'waiting'"),
        ),
        # A tenant's backlog, counted (up to a cap) for its new jobs' fair priority.
        Index(
            "ix_automation_executions_tenant_running",
            "tenant_id",
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[UUIDPrimaryKey]
    flow_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("automation_flows.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(32), default="running")
    trigger_data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    execution_results: Mapped[list[Any] | None] = mapped_column(JSONB)
    started_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    # ours, beyond the seed's columns:
    tenant_id: Mapped[TenantForeignKey]
    event_id: Mapped[str | None] = mapped_column(String(40))
    event_type: Mapped[str | None] = mapped_column(String(64))
    causation_depth: Mapped[int] = mapped_column(Integer, default=0)
    root_event_id: Mapped[str | None] = mapped_column(String(40))
    """The outside event at the root of this execution's causation tree (its own event when
    no automation caused it): the receiver counts the tree's actions against
    `BCS_MAX_ACTIONS_PER_EVENT` by it."""
    resume_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """While `waiting`: when its wait is over (its run job is scheduled then)."""
    state: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """While `waiting` (and after): the engine's `Memory`, what the next run must not redo."""
    steps: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[UpdatedAt]
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """The flow's definition when the execution started: a retried run (or an edit of the flow
    while it runs) renders exactly the same batches, so its idempotency keys stay valid."""
    flow_version: Mapped[int | None] = mapped_column(Integer)
    """The flow's version it ran (null for executions older than versions)."""
    rerun_of: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    """The execution this one re-runs (`POST .../executions/{id}/rerun`); null otherwise. No
    foreign key (migration 0013): a plain reference, like `event_id`."""


class ReceivedEvent(Base):
    """A platform event as the plugin received it: one row per webhook, never two per
    `webhook-id` or per `event_id` (a redelivery finds its row and starts nothing). Kept
    `retention_days` once processed, then purged (`tasks.py`)."""

    __tablename__ = "automation_received_events"
    __table_args__ = (
        # The retention purge's walk, oldest first across every tenant (`tasks.py`).
        Index("ix_automation_received_events_received", "received_at"),
    )

    id: Mapped[UUIDPrimaryKey]
    webhook_id: Mapped[str] = mapped_column(String(200), unique=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    # No foreign key: the plugin keeps what it was sent; flows (which have one) decide the rest.
    tenant_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    causation_execution_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    causation_depth: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[CreatedAt]
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
