"""Event bus background work: the delivery task, a thin shell over `delivery.py`, and the
hourly purge of the history older than `retention_days`.

`jobs/app.py` registers this blueprint under the `bus` namespace, so the tasks are `bus:deliver`
(deferred by SQL in the writer's transaction, `dispatch.py`) and `bus:purge_history`. The jobs
of a killed worker are brought back by the system-wide recovery (`jobs/recovery.py`).
"""

from __future__ import annotations

import uuid

import procrastinate

from bettercallsold.bus import repository
from bettercallsold.bus.delivery import DeliveryEnv, run_delivery
from bettercallsold.bus.dispatch import DELIVERIES_QUEUE
from bettercallsold.db.purge import PURGE_BATCH, purge_older_than
from bettercallsold.jobs import queues
from bettercallsold.jobs.context import job_runtime
from bettercallsold.runtime import Runtime

blueprint = procrastinate.Blueprint()

# An HTTP failure never reaches procrastinate (it is recorded, and a retry deferred by the task
# itself, `retry_policy.py`). This strategy only covers our own infrastructure failing (the
# database unreachable while recording): the job is run again rather than lost, over about
# a day and a half (waits of 2, 4, 8 ... 65536 s).
_INFRASTRUCTURE_RETRY = procrastinate.RetryStrategy(max_attempts=16, exponential_wait=2)


@blueprint.task(
    name="bus:deliver", queue=DELIVERIES_QUEUE, pass_context=True, retry=_INFRASTRUCTURE_RETRY
)
async def deliver(context: procrastinate.JobContext, delivery_id: str, version: int) -> None:
    """One attempt at one webhook delivery."""
    await run_delivery(
        DeliveryEnv.from_runtime(job_runtime(context)), uuid.UUID(delivery_id), version
    )


async def run_purge(runtime: Runtime, *, batch: int = PURGE_BATCH) -> int:
    """Delete every tenant's platform events older than `retention_days` whose deliveries are
    all settled (`delivered` or `dead`), with those deliveries and their attempts, `batch`
    events per committed transaction; how many events went.

    An event with a delivery still `pending` or `failed` stays until it settles. Deleting an
    event also frees its `action_key`, the platform's record that a flow action was performed:
    a repeat of that action after the purge would be performed again. None can come: the
    receiver answers a repeated batch from its idempotency keys for 7 days (`KEY_TTL`), the
    plugin retries a batch for about half an hour, and `retention_days` is at least 8.
    """
    return await purge_older_than(
        runtime.sessionmaker,
        repository.delete_settled_events,
        days=runtime.settings.retention_days,
        batch=batch,
        what="platform events",
    )


@blueprint.periodic(cron="41 * * * *")
@blueprint.task(
    name="bus:purge_history",
    queue=queues.MAINTENANCE,
    pass_context=True,
    queueing_lock="bus:purge_history",
)
async def purge_history(context: procrastinate.JobContext, timestamp: int) -> None:
    del timestamp
    await run_purge(job_runtime(context))
