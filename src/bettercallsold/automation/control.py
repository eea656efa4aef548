"""A merchant's hand on executions: "run now" (a real execution of a flow on given trigger data,
whatever the flow's status) and "resume now" (end a waiting execution's wait).

Both only record and defer, in the request's transaction: the execution itself runs on a
worker like any other, so the answer is a 202 with the execution's id.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository, schedules
from bettercallsold.automation.errors import ExecutionNotFound, ExecutionNotWaiting, FlowNotFound
from bettercallsold.automation.runner import EXECUTIONS_QUEUE, RUN_EXECUTION_TASK
from bettercallsold.types import JSON


async def run_now(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, payload: JSON
) -> uuid.UUID:
    """Start an execution of the flow's latest version on `payload`; its id."""
    launch = repository.Launch(
        tenant_id=tenant_id,
        flow_id=flow_id,
        event_id=schedules.run_now_key(),
        payload=payload,
        queue=EXECUTIONS_QUEUE,
        task=RUN_EXECUTION_TASK,
    )
    execution_id = await repository.launch_execution(session, launch)
    if execution_id is None:
        raise FlowNotFound()
    return execution_id


async def resume_now(session: AsyncSession, tenant_id: uuid.UUID, execution_id: uuid.UUID) -> None:
    """End the execution's wait now: a worker runs the rest at once (409 unless waiting)."""
    resumed = await repository.resume_now(
        session, tenant_id, execution_id, EXECUTIONS_QUEUE, RUN_EXECUTION_TASK
    )
    if resumed:
        return
    execution = await repository.get_execution(session, execution_id, tenant_id=tenant_id)
    if execution is None:
        raise ExecutionNotFound()
    raise ExecutionNotWaiting(f"the execution is {execution.status}, not waiting")
