"""The procrastinate app: every feature's tasks, registered from its Blueprint.

Task names are fixed strings (`bus.deliver`, ...) because jobs are also deferred by SQL on the
caller's transaction (`db/deferral.py`), which needs the name without importing the task.
"""

from __future__ import annotations

import procrastinate

from bettercallsold.automation.tasks import blueprint as automation_tasks
from bettercallsold.bus.tasks import blueprint as bus_tasks
from bettercallsold.db.url import libpq_url
from bettercallsold.receiver.tasks import blueprint as receiver_tasks

QUEUES = ("deliveries", "executions", "maintenance")


def make_job_app(database_url: str, *, pool_min: int = 1, pool_max: int = 10) -> procrastinate.App:
    connector = procrastinate.PsycopgConnector(
        conninfo=libpq_url(database_url),
        min_size=pool_min,
        max_size=pool_max,
    )
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(bus_tasks, namespace="bus")
    app.add_tasks_from(automation_tasks, namespace="automation")
    app.add_tasks_from(receiver_tasks, namespace="receiver")
    return app
