"""The job worker of a process: procrastinate's worker, on every queue, kept running.

`run_worker` is what `bcs worker` runs, and what `bcs serve` runs beside the API unless
`--no-worker`; `runtime.worker` tells `/healthz` how it goes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from procrastinate.worker import Worker

from bettercallsold.jobs.context import worker_context
from bettercallsold.runtime import Runtime, WorkerStatus

logger = logging.getLogger(__name__)

_RESTART_FIRST_PAUSE = 1.0
_RESTART_MAX_PAUSE = 30.0


async def run_worker(runtime: Runtime, concurrency: int) -> None:
    """Run procrastinate's worker until cancelled, on every queue; `runtime.worker` tells how
    it goes (`/healthz`).

    Cancelling it is the graceful stop (SIGTERM): the worker takes no new job and lets the
    running ones finish for `BCS_WORKER_SHUTDOWN_SECONDS`; those still running then are
    cancelled and go back to the queue (`recovery.RetryAfterShutdown`). A worker that stops
    by itself (its LISTEN connection lost when PostgreSQL restarts, the database unreachable
    at start) is started again after a pause, rather than leaving a process that takes no work.
    """
    settings = runtime.settings
    status = WorkerStatus(concurrency=concurrency)
    runtime.worker = status
    pause = _RESTART_FIRST_PAUSE
    try:
        while True:
            worker = Worker(
                app=runtime.job_app,
                concurrency=concurrency,
                install_signal_handlers=False,
                additional_context=worker_context(runtime),
                shutdown_graceful_timeout=settings.worker_shutdown_seconds,
                update_heartbeat_interval=settings.worker_heartbeat_seconds,
                stalled_worker_timeout=settings.worker_stalled_seconds,
                # Finished jobs carry nothing we read: our own tables keep every attempt and
                # result.
                delete_jobs="never" if settings.keep_finished_jobs else "successful",
            )
            status.registered_id = _registered_id(worker)
            status.phase = "started"
            started = asyncio.get_running_loop().time()
            try:
                await worker.run()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                status.phase = "stopping"
                raise
            except Exception as exc:
                if _stopping():
                    # procrastinate swallowed our cancel and then failed on its way out (its
                    # unregistration needs the database, which may be what is gone): stop.
                    status.phase = "stopping"
                    raise asyncio.CancelledError from exc
                # Broad on purpose: whatever stopped it, the process must go on taking work.
                logger.exception("the job worker failed; starting it again in %g s", pause)
                status.last_error = f"{type(exc).__name__}: {exc}"
            else:
                if _stopping():
                    status.phase = "stopping"
                    raise asyncio.CancelledError
                logger.error("the job worker stopped by itself; starting it again in %g s", pause)
                status.last_error = "stopped by itself"
            status.phase = "restarting"
            status.restarts += 1
            if asyncio.get_running_loop().time() - started > _RESTART_MAX_PAUSE:
                pause = _RESTART_FIRST_PAUSE  # it had been running well: not a crash loop
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RESTART_MAX_PAUSE)
    finally:
        status.phase = "stopped"


def _stopping() -> bool:
    """Whether this task was asked to stop, even if the cancellation was swallowed below it."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _registered_id(worker: Worker) -> Callable[[], int | None]:
    def current() -> int | None:
        found: int | None = worker.worker_id
        return found

    return current
