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
    )

    id: Mapped[UUIDPrimaryKey]
    tenant_id: Mapped[TenantForeignKey]
    name: Mapped[str] = mapped_column(String(200))
    trigger_event: Mapped[str] = mapped_column(String(64))
    flow_definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="active")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]


class AutomationExecution(Base):
    __tablename__ = "automation_executions"
    __table_args__ = (
        Index("ix_automation_executions_tenant_started", "tenant_id", "started_at", "id"),
        Index("ix_automation_executions_flow_started", "flow_id", "started_at"),
        # One execution per (flow, event): a redelivered event never runs a flow twice.
        Index("uq_automation_executions_flow_event", "flow_id", "event_id", unique=True),
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
    steps: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    updated_at: Mapped[UpdatedAt]
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """The flow's definition when the execution started: a retried run (or an edit of the flow
    while it runs) renders exactly the same batches, so its idempotency keys stay valid."""


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
