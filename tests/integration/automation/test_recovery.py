"""Flow jobs of a worker that died are put back in the queue."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from bettercallsold.automation.recovery import recover_stalled_runs
from bettercallsold.automation.runner import EXECUTIONS_QUEUE, RUN_EXECUTION_TASK
from bettercallsold.db.deferral import JobToDefer, defer_jobs
from bettercallsold.runtime import Runtime


async def _status(runtime: Runtime, job_id: int) -> str:
    async with runtime.engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
        )
    return str(found)


async def test_a_dead_workers_job_is_requeued(runtime: Runtime) -> None:
    job = JobToDefer(
        task_name=RUN_EXECUTION_TASK,
        args={"execution_id": str(uuid.uuid4())},
        queue=EXECUTIONS_QUEUE,
        scheduled_at=None,
    )
    async with runtime.sessionmaker() as session, session.begin():
        [job_id] = await defer_jobs(session, [job])
        # A worker took it and vanished (its row pruned: no worker, no heartbeat).
        await session.execute(
            text("UPDATE procrastinate_jobs SET status = 'doing' WHERE id = :id"), {"id": job_id}
        )
    recovered = await recover_stalled_runs(runtime.job_app.job_manager)
    assert job_id in recovered
    assert await _status(runtime, job_id) == "todo"
    async with runtime.sessionmaker() as session, session.begin():
        # Leave nothing for later tests' workers: the job names no real execution anyway.
        await session.execute(text("DELETE FROM procrastinate_jobs WHERE id = :id"), {"id": job_id})
