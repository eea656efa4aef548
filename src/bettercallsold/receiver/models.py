"""The seed's event log table (names and columns kept), plus the tenant for scoping."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from bettercallsold.db.base import Base
from bettercallsold.db.columns import CreatedAt, TenantForeignKey, UUIDPrimaryKey


class AutomationEventLog(Base):
    __tablename__ = "automation_event_log"
    __table_args__ = (
        Index("ix_automation_event_log_execution", "flow_execution_id", "created_at"),
    )

    id: Mapped[UUIDPrimaryKey]
    flow_execution_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("automation_executions.id", ondelete="CASCADE")
    )
    action_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    success: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[CreatedAt]
    tenant_id: Mapped[TenantForeignKey]
    step_id: Mapped[str | None] = mapped_column(String(100))
