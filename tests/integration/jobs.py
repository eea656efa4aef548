"""Running a job's function as a worker would, and finding a periodic task's schedule."""

from __future__ import annotations

import procrastinate
from procrastinate.jobs import Job
from procrastinate.periodic import PeriodicTask

from bettercallsold.jobs.app import make_job_app
from bettercallsold.jobs.context import worker_context
from bettercallsold.runtime import Runtime


def job_context(
    runtime: Runtime,
    task_name: str,
    *,
    queue: str = "maintenance",
    queueing_lock: str | None = None,
    attempts: int = 0,
) -> procrastinate.JobContext:
    """The context a worker started with `runtime` passes to a `pass_context` task."""
    job = Job(
        id=1,
        queue=queue,
        lock=None,
        queueing_lock=queueing_lock,
        task_name=task_name,
        attempts=attempts,
    )
    return procrastinate.JobContext(
        app=runtime.job_app,
        job=job,
        start_timestamp=0.0,
        additional_context=worker_context(runtime),
        abort_reason=lambda: None,
    )


def periodic_task(runtime: Runtime, task_name: str) -> PeriodicTask:
    """The periodic registration of `task_name` in a job app as every process builds it."""
    app = make_job_app(runtime.database_url)
    found = {p.task.name: p for p in app.periodic_registry.periodic_tasks.values()}
    return found[task_name]
