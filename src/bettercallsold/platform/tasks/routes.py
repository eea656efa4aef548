from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from fastapi.responses import JSONResponse

from bettercallsold.db.session import SessionDep
from bettercallsold.http.pagination import Page, PageDep
from bettercallsold.platform.once import answered, perform_once
from bettercallsold.platform.responses import AUTH, AUTH_404, WRITE, WRITE_404
from bettercallsold.platform.tasks import service
from bettercallsold.platform.tasks.schemas import TaskAssign, TaskCreate, TaskOut
from bettercallsold.tenancy.auth import TenantDep

router = APIRouter(prefix="/api/tasks", tags=["tasks"])


@router.post("", status_code=status.HTTP_201_CREATED, responses=WRITE, response_model=TaskOut)
async def create_task(
    body: TaskCreate, session: SessionDep, context: TenantDep
) -> TaskOut | JSONResponse:
    """Create a staff task; emits `task.created`."""
    return answered(
        await perform_once(session, context, lambda: service.create_task(session, context, body))
    )


@router.get("", responses=AUTH)
async def list_tasks(session: SessionDep, context: TenantDep, page: PageDep) -> Page[TaskOut]:
    """The tenant's tasks, newest first."""
    items, cursor = await service.list_tasks(session, context, page)
    return Page(items=items, next_cursor=cursor)


@router.get("/{task_id}", responses=AUTH_404)
async def get_task(task_id: uuid.UUID, session: SessionDep, context: TenantDep) -> TaskOut:
    return await service.get_task(session, context, task_id)


@router.post("/{task_id}/assign", responses=WRITE_404, response_model=TaskOut)
async def assign_task(
    task_id: uuid.UUID, body: TaskAssign, session: SessionDep, context: TenantDep
) -> TaskOut | JSONResponse:
    """Assign the task to a staff member; emits `task.assigned`."""
    return answered(
        await perform_once(
            session, context, lambda: service.assign_task(session, context, task_id, body)
        )
    )
