from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bettercallsold.db.base import Base
from bettercallsold.db.columns import CreatedAt, TenantForeignKey, UpdatedAt, UUIDPrimaryKey


class StaffTask(Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_tenant_created", "tenant_id", "created_at", "id"),)

    id: Mapped[UUIDPrimaryKey]
    tenant_id: Mapped[TenantForeignKey]
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    due_date: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assignee: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[UpdatedAt]
