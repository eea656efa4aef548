"""The procrastinate app: every feature's tasks, registered from its Blueprint.

Task names are fixed strings (`bus:deliver`, ...) because jobs are also deferred by SQL on the
caller's transaction (`jobs/deferral.py`), which needs the name without importing the task.
Every task's retry strategy is wrapped so that a job cut short by a worker's shutdown runs
again (`recovery.RetryAfterShutdown`); the jobs of a killed worker come back through the
periodic `maintenance:recover_stalled_jobs`.
"""

from __future__ import annotations

from typing import Any

import procrastinate
import psycopg
import psycopg_pool

from bettercallsold.automation.tasks import blueprint as automation_tasks
from bettercallsold.bus.tasks import blueprint as bus_tasks
from bettercallsold.db.engine import idle_connection_problem
from bettercallsold.db.url import libpq_url
from bettercallsold.jobs.maintenance import blueprint as maintenance_tasks
from bettercallsold.jobs.recovery import retry_after_shutdown
from bettercallsold.receiver.tasks import blueprint as receiver_tasks

BLUEPRINTS: tuple[procrastinate.Blueprint, ...] = (
    bus_tasks,
    automation_tasks,
    receiver_tasks,
    maintenance_tasks,
)
"""Each blueprint names its tasks in full (`bus:deliver`): procrastinate's `add_tasks_from`
would rename them in place, once per process, which a second app (tests build several) would
have to undo."""


def _pool_without_check_query(**options: Any) -> psycopg_pool.AsyncConnectionPool:
    """procrastinate's pool, with its check at checkout (a `SELECT 1` round trip, a transaction
    in PostgreSQL's books, on every job fetch and finish) replaced by a look at the socket."""
    return psycopg_pool.AsyncConnectionPool(**{**options, "check": _check_socket})


async def _check_socket(connection: psycopg.AsyncConnection[Any]) -> None:
    problem = idle_connection_problem(connection)
    if problem is not None:
        raise psycopg.OperationalError(problem)


def make_job_app(database_url: str, *, pool_min: int = 1, pool_max: int = 10) -> procrastinate.App:
    """A job app on `database_url` with every feature's tasks (and periodic tasks).

    procrastinate's tasks are module-level objects bound to one app (the periodic deferrer
    defers through it): the first app built in the process keeps them. Outside the tests a
    process builds one; the tests' later apps share the session's, which stays open."""
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url),
        min_size=pool_min,
        max_size=pool_max,
        pool_factory=_pool_without_check_query,
    )
    app = procrastinate.App(connector=connector)
    for blueprint in BLUEPRINTS:
        app.tasks.update(blueprint.tasks)
        for task in blueprint.tasks.values():
            if not isinstance(task.blueprint, procrastinate.App):
                task.blueprint = app
        for periodic_task in blueprint.periodic_registry.periodic_tasks.values():
            app.periodic_registry.register_task(
                task=periodic_task.task,
                cron=periodic_task.cron,
                periodic_id=periodic_task.periodic_id,
                configure_kwargs=periodic_task.configure_kwargs,
            )
    retry_after_shutdown(app.tasks.values())
    return app
