"""Receiver background work: the hourly purge of expired idempotency keys (and old action
counts).

`jobs/app.py` registers this blueprint under the `receiver` namespace (`receiver:purge_keys`);
procrastinate defers one job per tick however many workers run.
"""

from __future__ import annotations

import logging

import procrastinate

from bettercallsold.jobs import queues
from bettercallsold.jobs.context import job_runtime
from bettercallsold.receiver import action_budget
from bettercallsold.receiver.idempotency import purge_expired_keys
from bettercallsold.runtime import Runtime

logger = logging.getLogger(__name__)

blueprint = procrastinate.Blueprint()


async def run_purge(runtime: Runtime) -> int:
    """Delete the expired keys, and the action counts of causation trees older than
    `retention_days`, in one committed transaction; how many keys went."""
    async with runtime.sessionmaker() as session, session.begin():
        purged = await purge_expired_keys(session)
        trees = await action_budget.purge_older_than(session, runtime.settings.retention_days)
    if purged or trees:
        logger.info("purged %d expired idempotency keys, %d action counts", purged, trees)
    return purged


@blueprint.periodic(cron="17 * * * *")
@blueprint.task(
    name="receiver:purge_keys",
    queue=queues.MAINTENANCE,
    pass_context=True,
    queueing_lock="receiver:purge_keys",
)
async def purge_keys(context: procrastinate.JobContext, timestamp: int) -> None:
    del timestamp
    await run_purge(job_runtime(context))
