"""Bringing back the flow jobs of a worker that died (SIGKILL, OOM, a lost machine).

procrastinate leaves a dead worker's jobs in `doing` and does not retry them by itself. Once a
minute (`tasks.py`) the `doing` jobs of the executions queue whose worker has not sent a
heartbeat for 30 s (procrastinate's own `stalled_worker_timeout`) are put back to `todo`.
Both flow jobs are safe to run again (see `runner.py`): an execution resumes with the same
idempotency keys, so the receiver repeats no action.
"""

from __future__ import annotations

import logging

from procrastinate.exceptions import ConnectorException
from procrastinate.manager import JobManager

from bettercallsold.automation.runner import EXECUTIONS_QUEUE

logger = logging.getLogger(__name__)

STALLED_AFTER_SECONDS = 30.0


async def recover_stalled_runs(
    job_manager: JobManager, *, seconds_since_heartbeat: float = STALLED_AFTER_SECONDS
) -> list[int]:
    """Re-queue the executions queue's jobs of dead workers; their ids."""
    await job_manager.prune_stalled_workers(seconds_since_heartbeat)
    stalled = await job_manager.get_stalled_jobs(
        queue=EXECUTIONS_QUEUE, seconds_since_heartbeat=seconds_since_heartbeat
    )
    recovered: list[int] = []
    for job in stalled:
        assert job.id is not None
        try:
            await job_manager.retry_job(job)
        except ConnectorException:
            # Another process recovered it (or its worker finished it) in the meantime.
            continue
        recovered.append(job.id)
    if recovered:
        logger.warning(
            "re-queued %d stalled flow jobs of dead workers: %s", len(recovered), recovered
        )
    return recovered
