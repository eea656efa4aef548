"""The seed's event log table (names and columns kept), plus the tenant for scoping, and the
receiver's idempotency keys."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bettercallsold.db.base import Base
from bettercallsold.db.columns import CreatedAt, TenantForeignKey, UpdatedAt, UUIDPrimaryKey


class AutomationEventLog(Base):
    __tablename__ = "automation_event_log"
    __table_args__ = (
        Index("ix_automation_event_log_execution", "flow_execution_id", "created_at"),
    )

    id: Mapped[UUIDPrimaryKey]
    flow_execution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    """The plugin's execution, a plain reference (no foreign key into the plugin's table: each
    part owns its tables). Executions are never deleted but with their tenant, whose deletion
    takes these rows too (`tenant_id`)."""
    action_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    success: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[CreatedAt]
    tenant_id: Mapped[TenantForeignKey]
    step_id: Mapped[str | None] = mapped_column(String(100))


class ReceiverActionBudget(Base):
    """How many actions one causation tree has taken (`action_budget.py`)."""

    __tablename__ = "receiver_action_budgets"
    __table_args__ = (Index("ix_receiver_action_budgets_created", "created_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    root_event_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    actions: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]


class ReceiverIdempotencyKey(Base):
    """One `Idempotency-Key` of one tenant: the request it was first used with, the results
    recorded so far (one per action, committed as each completes) and, once done, the answer.

    `lease_token`/`leased_until` mark the request working on it; a lease left by a crashed
    process expires and is taken over. `in_flight` is the position of the action whose platform
    call may be under way: a request taking over never repeats that action (see `service.py`).
    """

    __tablename__ = "receiver_idempotency_keys"
    __table_args__ = (
        Index("ix_receiver_idempotency_keys_expires_at", "expires_at"),
        Index("ix_receiver_idempotency_keys_flow_execution_id", "flow_execution_id"),
    )

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    flow_execution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    """The plugin's execution, a plain reference (see `AutomationEventLog`)."""
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    """`in_progress` or `completed`."""
    results: Mapped[list[Any]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    in_flight: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    leased_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
