"""A job's view of its process: the one accessor for the `Runtime` a task runs with.

A worker is started with `worker_context(runtime)` as procrastinate's additional context; a
`pass_context` task gets its runtime back with `job_runtime(context)`. Tests build the same
context (`tests/integration/jobs.py`).
"""

from __future__ import annotations

from typing import Any

import procrastinate

from bettercallsold.runtime import Runtime

_RUNTIME_KEY = "runtime"


def worker_context(runtime: Runtime) -> dict[str, Any]:
    """What a worker passes to every task it runs (`Worker(additional_context=...)`)."""
    return {_RUNTIME_KEY: runtime}


def job_runtime(context: procrastinate.JobContext) -> Runtime:
    """The runtime of the worker running this job."""
    runtime = context.additional_context.get(_RUNTIME_KEY)
    assert isinstance(runtime, Runtime), "the worker must be started with worker_context()"
    return runtime
