"""Reading executions (tenant-scoped): the list, and one with the receiver's log rows."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.errors import ExecutionNotFound
from bettercallsold.automation.schemas import (
    EventLogOut,
    ExecutionDetail,
    ExecutionOut,
    ExecutionPage,
)
from bettercallsold.pagination import PageRequest, page_of


async def list_executions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest,
    *,
    flow_id: uuid.UUID | None = None,
    status: str | None = None,
) -> ExecutionPage:
    """Newest first."""
    rows = await repository.list_executions(
        session, tenant_id, page, flow_id=flow_id, status=status
    )
    items, cursor = page_of(rows, page, "started_at")
    return ExecutionPage(
        items=[ExecutionOut.model_validate(row) for row in items], next_cursor=cursor
    )


async def get_execution(
    session: AsyncSession, tenant_id: uuid.UUID, execution_id: uuid.UUID
) -> ExecutionDetail:
    execution = await repository.get_execution(session, execution_id, tenant_id=tenant_id)
    if execution is None:
        raise ExecutionNotFound()
    events = await repository.event_log(session, tenant_id, execution_id)
    return ExecutionDetail.model_validate(
        {
            **ExecutionOut.model_validate(execution).model_dump(),
            "events": [EventLogOut.model_validate(row) for row in events],
        }
    )
