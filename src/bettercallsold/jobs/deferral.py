"""Defer procrastinate jobs on the caller's own transaction.

A platform write, its outbox event and the jobs that deliver it must commit or roll back
together. procrastinate's `defer_async` uses its own connection, so here we call the same SQL
function it calls (`procrastinate_defer_jobs_v1`, part of its versioned schema) through the
caller's session (its driver connection: `raw.py`). procrastinate's insert trigger still
NOTIFYs the workers, at commit.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.db.raw import driver_connection

BACKLOG_CAP = 1_000
"""How far a tenant's backlog is counted for its jobs' priority (bounds the count's cost)."""


def fair_priority(waiting: int) -> int:
    """The job priority of a tenant's job with `waiting` of its tenant's jobs ahead of it.

    procrastinate takes the highest priority first, and among equals the oldest: the k-th
    waiting job of every tenant gets the same priority, so workers serve tenants round-robin,
    each tenant's jobs in the order they came, and a quiet tenant's job (n = 0) goes ahead of
    a busy tenant's backlog. Beyond `BACKLOG_CAP` busy tenants share FIFO among themselves.
    """
    return -min(waiting, BACKLOG_CAP)


@dataclass(frozen=True, slots=True)
class JobToDefer:
    task_name: str
    args: dict[str, Any]
    queue: str = "default"
    priority: int = 0
    lock: str | None = None
    queueing_lock: str | None = None
    scheduled_at: datetime | None = None


_DEFER = """
    SELECT unnest(procrastinate_defer_jobs_v1(array_agg(
        ROW(j.queue_name, j.task_name, j.priority, j.lock, j.queueing_lock, j.args, j.scheduled_at)
        ::procrastinate_job_to_defer_v1)))
    FROM jsonb_to_recordset(%s::jsonb) AS j(
        queue_name varchar, task_name varchar, priority int, lock text, queueing_lock text,
        args jsonb, scheduled_at timestamptz)
"""


async def defer_jobs(session: AsyncSession, jobs: Sequence[JobToDefer]) -> list[int]:
    """Insert the jobs in the session's transaction; returns their ids."""
    if not jobs:
        return []
    rows = [
        {
            "queue_name": job.queue,
            "task_name": job.task_name,
            "priority": job.priority,
            "lock": job.lock,
            "queueing_lock": job.queueing_lock,
            "args": job.args,
            "scheduled_at": job.scheduled_at.isoformat() if job.scheduled_at else None,
        }
        for job in jobs
    ]
    connection = await driver_connection(session)
    cursor = await connection.execute(_DEFER, (json.dumps(rows),))
    return [int(row[0]) for row in await cursor.fetchall()]
