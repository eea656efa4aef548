"""Staff task use cases."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.outbox import record_event
from bettercallsold.http.pagination import PageRequest
from bettercallsold.platform.ownership import get_owned, list_owned
from bettercallsold.platform.rows import insert_row
from bettercallsold.platform.tasks.models import StaffTask
from bettercallsold.platform.tasks.schemas import TaskAssign, TaskCreate, TaskOut
from bettercallsold.types import TenantContext


def task_event_payload(task: TaskOut) -> dict[str, Any]:
    payload = task.model_dump(mode="json")
    payload["task_id"] = payload["id"]
    return payload


async def create_task(session: AsyncSession, context: TenantContext, body: TaskCreate) -> TaskOut:
    values = {"id": uuid.uuid4(), "tenant_id": context.tenant_id, "status": "open"}
    out = TaskOut.model_validate(await insert_row(session, StaffTask, values | body.model_dump()))
    await record_event(session, context, "task.created", task_event_payload(out))
    return out


async def get_task(session: AsyncSession, context: TenantContext, task_id: uuid.UUID) -> TaskOut:
    return TaskOut.model_validate(
        await get_owned(session, StaffTask, context.tenant_id, task_id, what="task")
    )


async def list_tasks(
    session: AsyncSession, context: TenantContext, page: PageRequest
) -> tuple[list[TaskOut], str | None]:
    return await list_owned(session, StaffTask, TaskOut, context.tenant_id, page)


async def assign_task(
    session: AsyncSession, context: TenantContext, task_id: uuid.UUID, body: TaskAssign
) -> TaskOut:
    task = await get_owned(
        session, StaffTask, context.tenant_id, task_id, for_update=True, what="task"
    )
    previous = task.assignee
    task.assignee = body.assignee
    await session.flush()
    await session.refresh(task)
    out = TaskOut.model_validate(task)
    payload = task_event_payload(out)
    payload["previous_assignee"] = previous
    await record_event(session, context, "task.assigned", payload)
    return out
