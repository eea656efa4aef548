"""Event bus background work: the delivery task, a thin shell over `delivery.py`.

`jobs.py` registers this blueprint under the `bus` namespace, so the task is `bus:deliver`
(deferred by SQL in the writer's transaction, `dispatch.py`). The jobs of a killed worker are
brought back by the system-wide recovery (`bettercallsold/recovery.py`).
"""

from __future__ import annotations

import uuid

import procrastinate

from bettercallsold.bus.delivery import DeliveryEnv, run_delivery
from bettercallsold.bus.dispatch import DELIVERIES_QUEUE
from bettercallsold.runtime import Runtime

blueprint = procrastinate.Blueprint()

# An HTTP failure never reaches procrastinate (it is recorded, and a retry deferred by the task
# itself, `retry_policy.py`). This strategy only covers our own infrastructure failing (the
# database unreachable while recording): the job is run again rather than lost, over about
# a day and a half (waits of 2, 4, 8 ... 65536 s).
_INFRASTRUCTURE_RETRY = procrastinate.RetryStrategy(max_attempts=16, exponential_wait=2)


def _runtime(context: procrastinate.JobContext) -> Runtime:
    runtime = context.additional_context.get("runtime")
    assert isinstance(runtime, Runtime), "the worker must be started with the runtime"
    return runtime


@blueprint.task(
    name="deliver", queue=DELIVERIES_QUEUE, pass_context=True, retry=_INFRASTRUCTURE_RETRY
)
async def deliver(context: procrastinate.JobContext, delivery_id: str, version: int) -> None:
    """One attempt at one webhook delivery."""
    await run_delivery(DeliveryEnv.from_runtime(_runtime(context)), uuid.UUID(delivery_id), version)
