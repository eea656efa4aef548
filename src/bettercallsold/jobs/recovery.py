"""Bringing back the jobs a worker left unfinished, on every queue (deliveries, executions,
maintenance): one mechanism for the whole system, owned by no feature.

A worker leaves jobs behind in two ways:

- It is killed (SIGKILL, OOM, a lost machine). procrastinate leaves its jobs in `doing`; it
  records each worker's heartbeat (`BCS_WORKER_HEARTBEAT_SECONDS`) but does not retry a dead
  worker's jobs by itself. `recover_stalled_jobs` finds the `doing` jobs whose worker has been
  silent for `BCS_WORKER_STALLED_SECONDS` (or is gone) and puts them back to `todo`. It runs at
  every process start and every 15 s as a periodic task (`jobs/maintenance.py`), so with the
  defaults (5 s heartbeat, 20 s silence) a killed worker's jobs run again within 40 s.
- It is stopped (SIGTERM) while jobs still run at `BCS_WORKER_SHUTDOWN_SECONDS`. procrastinate
  then cancels them and asks each task's retry strategy; a strategy that retries only some
  exceptions would let the cancelled job end `aborted`, never to run again (an execution left
  `running`, a received event never processed). `RetryAfterShutdown` wraps every task's
  strategy (`jobs/app.py`) so that a cancelled job goes back to `todo` at once.

Re-running is safe for every task: a delivery job checks its delivery's version, a flow run
resends the same `Idempotency-Key`s, and the periodic tasks are idempotent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from procrastinate import BaseRetryStrategy, RetryDecision
from procrastinate.exceptions import ConnectorException, JobRetry
from procrastinate.jobs import Job
from procrastinate.manager import JobManager
from procrastinate.tasks import Task
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

# One recovery at a time across every process: two recoveries that listed the same stalled job
# could otherwise both re-queue it, the second after a live worker had already taken it again.
_RECOVERY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtext('bcs:recover_stalled_jobs'))")


async def recover_stalled_jobs(
    engine: AsyncEngine, job_manager: JobManager, *, stalled_after: float
) -> list[int]:
    """Re-queue the `doing` jobs of workers silent for `stalled_after` seconds, on every queue;
    the re-queued jobs' ids (none when another process is recovering at the same moment).

    The silent workers are removed from `procrastinate_workers` as well.
    """
    async with engine.begin() as connection:
        if not await connection.scalar(_RECOVERY_LOCK):
            return []
        await job_manager.prune_stalled_workers(stalled_after)
        stalled = await job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after)
        recovered: list[int] = []
        for job in stalled:
            assert job.id is not None
            try:
                await job_manager.retry_job(job)
            except ConnectorException:
                # Its worker was only late, not dead, and has finished it in the meantime.
                logger.info("stalled job %s was no longer in 'doing'", job.id)
                continue
            recovered.append(job.id)
    if recovered:
        logger.warning(
            "re-queued %d jobs of dead workers (silent for %g s): %s",
            len(recovered),
            stalled_after,
            recovered,
        )
    return recovered


class RetryAfterShutdown(BaseRetryStrategy):
    """A task's retry strategy, plus: a job cancelled by its worker's shutdown runs again.

    procrastinate cancels the jobs still running at the end of a worker's graceful shutdown and
    only then consults the retry strategy, with the `CancelledError`; this one answers "retry
    now" to it and leaves every other failure to the task's own strategy (`inner`, None for a
    task that is never retried). We never abort jobs on request, which would look the same.
    """

    def __init__(self, inner: BaseRetryStrategy | None) -> None:
        self.inner = inner

    def get_retry_exception(self, exception: BaseException, job: Job) -> JobRetry | None:
        if isinstance(exception, asyncio.CancelledError):
            logger.warning("job %s was cut short by a shutdown: it goes back to the queue", job.id)
            return JobRetry(RetryDecision())
        if self.inner is None:
            return None
        found: JobRetry | None = self.inner.get_retry_exception(exception=exception, job=job)
        return found

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        retry = self.get_retry_exception(exception, job)
        return None if retry is None else retry.retry_decision


def retry_after_shutdown(tasks: Iterable[Task[Any, Any, Any]]) -> None:
    """Wrap each task's retry strategy in `RetryAfterShutdown` (once; tasks are shared)."""
    for task in tasks:
        if not isinstance(task.retry_strategy, RetryAfterShutdown):
            task.retry_strategy = RetryAfterShutdown(task.retry_strategy)
