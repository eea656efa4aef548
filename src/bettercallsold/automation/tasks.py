"""Automation background work (procrastinate tasks): thin shells around `runner.py`, and the
hourly purge of the received-events record older than `retention_days`.

Registered by `jobs/app.py` under the namespace `automation`, so the full names are
`automation:run_execution` (deferred by SQL in the caller's transaction) and
`automation:purge_received_events`. The jobs of a killed worker are brought
back by the system-wide recovery (`jobs/recovery.py`); every task is safe to run
again (see `runner.py` for the first).
"""

from __future__ import annotations

import uuid

import procrastinate
from sqlalchemy import text
from sqlalchemy.exc import InterfaceError, OperationalError

from bettercallsold.automation import repository, runner, schedules
from bettercallsold.automation.errors import ReceiverUnavailable
from bettercallsold.db.purge import PURGE_BATCH, purge_older_than
from bettercallsold.jobs import queues
from bettercallsold.jobs.context import job_runtime
from bettercallsold.runtime import Runtime

blueprint = procrastinate.Blueprint()

MAX_ATTEMPTS = 10
"""Retries of a run: exponential waits 2, 4, ... 1024 s, about 34 minutes in all."""

_TRANSIENT: tuple[type[Exception], ...] = (ReceiverUnavailable, OperationalError, InterfaceError)
_RETRY = procrastinate.RetryStrategy(
    max_attempts=MAX_ATTEMPTS, exponential_wait=2, retry_exceptions=list(_TRANSIENT)
)


@blueprint.task(
    name="automation:run_execution", queue=queues.EXECUTIONS, pass_context=True, retry=_RETRY
)
async def run_execution(context: procrastinate.JobContext, execution_id: str) -> None:
    """Run one flow execution; a receiver that does not answer retries it with the same keys."""
    runtime, run_id = job_runtime(context), uuid.UUID(execution_id)
    attempts: int = context.job.attempts
    try:
        await runner.run_execution(runtime, run_id, final_attempt=attempts >= MAX_ATTEMPTS)
    except _TRANSIENT:
        raise
    except Exception as exc:
        # Not retried: a bug must not leave the execution `running` forever. Recorded (so the
        # merchant sees it), then re-raised (so procrastinate logs the job as failed).
        await runner.abandon_execution(
            runtime, run_id, f"internal error: {type(exc).__name__}: {exc}"
        )
        raise


@blueprint.task(
    name=runner.OUTSIDE_CALL_TASK, queue=queues.EXECUTIONS, pass_context=True, retry=_RETRY
)
async def make_outside_call(context: procrastinate.JobContext, execution_id: str) -> None:
    """The `send_http_request` an execution stopped at, after the commit that recorded it; then
    the execution's run goes on (deferred with the answer)."""
    await runner.make_outside_call(job_runtime(context), uuid.UUID(execution_id))


async def run_purge(runtime: Runtime, *, batch: int = PURGE_BATCH) -> int:
    """Delete every tenant's received events older than `retention_days` that are processed,
    `batch` per committed transaction; how many went. Executions (and the receiver's event log)
    are the merchant's history: never purged.

    The rows are the `webhook-id` de-duplication record. The bus redelivers a webhook only
    within its ~25 h of retries, and `retention_days` is at least 8; a duplicate arriving after
    the purge anyway starts no flow twice, since an execution is unique per flow and event.
    """
    return await purge_older_than(
        runtime.sessionmaker,
        repository.delete_processed_received_events,
        days=runtime.settings.retention_days,
        batch=batch,
        what="received events",
    )


@blueprint.periodic(cron="47 * * * *")
@blueprint.task(
    name="automation:purge_received_events",
    queue=queues.MAINTENANCE,
    pass_context=True,
    queueing_lock="automation:purge_received_events",
)
async def purge_received_events(context: procrastinate.JobContext, timestamp: int) -> None:
    del timestamp
    await run_purge(job_runtime(context))


async def run_schedule_tick(runtime: Runtime) -> int:
    """Start every due scheduled flow (`schedules.tick`), a batch per transaction; how many
    executions started. Flows another worker's tick holds are skipped, not waited for."""
    started = 0
    while True:
        async with runtime.sessionmaker() as session, session.begin():
            now = (await session.execute(text("SELECT now()"))).scalar_one()
            result = await schedules.tick(
                session, now, queue=queues.EXECUTIONS, task=runner.RUN_EXECUTION_TASK
            )
        started += result.started
        if result.claimed < schedules.TICK_BATCH:
            return started


@blueprint.periodic(cron="* * * * *")
@blueprint.task(
    name="automation:schedule_tick",
    queue=queues.MAINTENANCE,
    pass_context=True,
    queueing_lock="automation:schedule_tick",
)
async def schedule_tick(context: procrastinate.JobContext, timestamp: int) -> None:
    """Every minute: scheduled flows whose time has come start (one execution per due time)."""
    del timestamp
    await run_schedule_tick(job_runtime(context))
