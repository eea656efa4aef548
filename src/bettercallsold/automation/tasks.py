"""Automation background work (procrastinate tasks): thin shells around `runner.py`.

Registered by `jobs.py` under the namespace `automation`, so the full names are
`automation:run_event` and `automation:run_execution` (both deferred by SQL in the caller's
transaction). The jobs of a killed worker are brought back by the system-wide recovery
(`bettercallsold/recovery.py`); both are safe to run again (see `runner.py`).
"""

from __future__ import annotations

import uuid

import procrastinate
from sqlalchemy.exc import InterfaceError, OperationalError

from bettercallsold.automation import runner
from bettercallsold.automation.errors import ReceiverUnavailable
from bettercallsold.runtime import Runtime

blueprint = procrastinate.Blueprint()

MAX_ATTEMPTS = 10
"""Retries of a run: exponential waits 2, 4, ... 1024 s, about 34 minutes in all."""

_TRANSIENT: tuple[type[Exception], ...] = (ReceiverUnavailable, OperationalError, InterfaceError)
_RETRY = procrastinate.RetryStrategy(
    max_attempts=MAX_ATTEMPTS, exponential_wait=2, retry_exceptions=list(_TRANSIENT)
)


def _runtime(context: procrastinate.JobContext) -> Runtime:
    runtime: Runtime = context.additional_context["runtime"]
    return runtime


@blueprint.task(name="run_event", queue=runner.EXECUTIONS_QUEUE, pass_context=True, retry=_RETRY)
async def run_event(context: procrastinate.JobContext, received_event_id: str) -> None:
    """Start the flows of one received event."""
    await runner.run_event(_runtime(context), uuid.UUID(received_event_id))


@blueprint.task(
    name="run_execution", queue=runner.EXECUTIONS_QUEUE, pass_context=True, retry=_RETRY
)
async def run_execution(context: procrastinate.JobContext, execution_id: str) -> None:
    """Run one flow execution; a receiver that does not answer retries it with the same keys."""
    runtime, run_id = _runtime(context), uuid.UUID(execution_id)
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
