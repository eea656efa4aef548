"""Bringing back the delivery jobs of a worker that died (SIGKILL, OOM, lost machine).

procrastinate leaves a dead worker's jobs in `doing`; it records each worker's heartbeat (every
10 s by default) but does not retry their jobs by itself. `recover_stalled_jobs` asks
procrastinate's job manager for the `doing` jobs whose worker has not beaten for
`seconds_since_heartbeat` (30 s, procrastinate's own `stalled_worker_timeout`) and puts them
back to `todo`. It runs at every process start and once a minute as a periodic task
(`bus/tasks.py`). A delivery job is safe to run again (see `delivery.py`).
"""

from __future__ import annotations

import logging

from procrastinate.exceptions import ConnectorException
from procrastinate.manager import JobManager

from bettercallsold.bus.dispatch import DELIVERIES_QUEUE

logger = logging.getLogger(__name__)

STALLED_AFTER_SECONDS = 30.0


async def recover_stalled_jobs(
    job_manager: JobManager,
    *,
    seconds_since_heartbeat: float = STALLED_AFTER_SECONDS,
    queue: str | None = DELIVERIES_QUEUE,
) -> list[int]:
    """Retry the stalled jobs of `queue` (every queue when None); returns their ids."""
    await job_manager.prune_stalled_workers(seconds_since_heartbeat)
    stalled = await job_manager.get_stalled_jobs(
        queue=queue, seconds_since_heartbeat=seconds_since_heartbeat
    )
    recovered: list[int] = []
    for job in stalled:
        assert job.id is not None
        try:
            await job_manager.retry_job(job)
        except ConnectorException:
            # Another process recovered (or the worker finished) it in the meantime.
            logger.info("stalled job %s was no longer in 'doing'", job.id)
            continue
        recovered.append(job.id)
    if recovered:
        logger.warning("re-queued %d stalled jobs of dead workers: %s", len(recovered), recovered)
    return recovered
