"""System-wide background work, owned by no feature: the stalled-job recovery of `recovery.py`,
and the purge of spent service-assertion ids (`tenancy/repository.py`).

`jobs/app.py` registers this blueprint under the `maintenance` namespace
(`maintenance:recover_stalled_jobs`). procrastinate's periodic deferrer runs in every worker,
but defers one job per tick however many workers run; the queueing lock also keeps a backlog
of ticks from piling up while the workers are busy, and the high priority puts the recovery
ahead of the work it is there to bring back.
"""

from __future__ import annotations

import procrastinate

from bettercallsold.jobs import queues
from bettercallsold.jobs.context import job_runtime
from bettercallsold.jobs.recovery import recover_stalled_jobs
from bettercallsold.tenancy.repository import purge_spent_assertions
from bettercallsold.types import utcnow

blueprint = procrastinate.Blueprint()

MAINTENANCE_QUEUE = queues.MAINTENANCE
RECOVERY_CRON = "* * * * * */15"
"""Every 15 s (the sixth cron field is seconds)."""
RECOVERY_PRIORITY = 100


@blueprint.periodic(cron=RECOVERY_CRON)
@blueprint.task(
    name="maintenance:recover_stalled_jobs",
    queue=MAINTENANCE_QUEUE,
    pass_context=True,
    queueing_lock="maintenance:recover_stalled_jobs",
    priority=RECOVERY_PRIORITY,
)
async def recover_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
    """Re-queue the jobs of workers that stopped beating (killed, lost), on every queue."""
    del timestamp
    runtime = job_runtime(context)
    await recover_stalled_jobs(
        runtime.engine,
        runtime.job_app.job_manager,
        stalled_after=runtime.settings.worker_stalled_seconds,
    )


ASSERTION_PURGE_CRON = "* * * * *"
"""Every minute: the table holds about two minutes of service calls (60 s lives + grace)."""


@blueprint.periodic(cron=ASSERTION_PURGE_CRON)
@blueprint.task(
    name="maintenance:purge_spent_assertions",
    queue=MAINTENANCE_QUEUE,
    pass_context=True,
    queueing_lock="maintenance:purge_spent_assertions",
)
async def purge_assertions(context: procrastinate.JobContext, timestamp: int) -> None:
    """Forget the ids of expired service assertions (their expiry alone refuses them)."""
    del timestamp
    await purge_spent_assertions(job_runtime(context).engine, utcnow())
