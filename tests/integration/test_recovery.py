"""One recovery for every queue: the jobs of a worker that stopped beating go back to `todo`,
a live worker's jobs stay where they are, and the periodic task and start-up run it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text

from bettercallsold.jobs.deferral import JobToDefer, defer_jobs
from bettercallsold.jobs.maintenance import MAINTENANCE_QUEUE, RECOVERY_CRON
from bettercallsold.jobs.recovery import RetryAfterShutdown, recover_stalled_jobs
from bettercallsold.runtime import Runtime

_JOBS = (
    ("bus:deliver", "deliveries"),
    ("automation:run_execution", "executions"),
    ("receiver:purge_keys", MAINTENANCE_QUEUE),
)


async def _worker(runtime: Runtime, silent_for_seconds: float) -> int:
    async with runtime.engine.begin() as connection:
        found = await connection.scalar(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - make_interval(secs => :age)) RETURNING id"
            ),
            {"age": silent_for_seconds},
        )
    return int(found)


async def _doing_jobs(runtime: Runtime, worker_id: int | None) -> list[int]:
    """One `doing` job per queue, taken by `worker_id` (never run: the ids name nothing)."""
    jobs = [
        JobToDefer(task_name=name, args={"marker": uuid.uuid4().hex}, queue=queue)
        for name, queue in _JOBS
    ]
    async with runtime.sessionmaker() as session, session.begin():
        ids = await defer_jobs(session, jobs)
        await session.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'doing', worker_id = :w "
                "WHERE id = ANY(:ids)"
            ),
            {"w": worker_id, "ids": ids},
        )
    return ids


async def _statuses(runtime: Runtime, ids: list[int]) -> list[str]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT status FROM procrastinate_jobs WHERE id = ANY(:ids) ORDER BY id"),
            {"ids": ids},
        )
        return [str(row[0]) for row in rows]


@pytest.fixture
async def cleanup(runtime: Runtime) -> AsyncIterator[list[int]]:
    """Job ids to delete afterwards, so no later test's worker picks them up."""
    created: list[int] = []
    yield created
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text("DELETE FROM procrastinate_jobs WHERE id = ANY(:ids)"), {"ids": created}
        )


class TestRecoverStalledJobs:
    async def test_every_queue_of_a_silent_worker_comes_back(
        self, runtime: Runtime, cleanup: list[int]
    ) -> None:
        dead = await _worker(runtime, silent_for_seconds=25)
        alive = await _worker(runtime, silent_for_seconds=1)
        stalled = await _doing_jobs(runtime, dead)
        orphaned = await _doing_jobs(runtime, None)  # its worker row already pruned
        running = await _doing_jobs(runtime, alive)
        cleanup.extend(stalled + orphaned + running)

        recovered = await recover_stalled_jobs(
            runtime.engine, runtime.job_app.job_manager, stalled_after=20
        )

        assert set(stalled + orphaned) <= set(recovered)
        assert not set(running) & set(recovered)
        assert await _statuses(runtime, stalled + orphaned) == ["todo"] * 6
        assert await _statuses(runtime, running) == ["doing"] * 3
        async with runtime.engine.connect() as connection:
            workers = set(
                (await connection.scalars(text("SELECT id FROM procrastinate_workers"))).all()
            )
        assert dead not in workers  # pruned
        assert alive in workers
        async with runtime.engine.begin() as connection:
            await connection.execute(
                text("UPDATE procrastinate_jobs SET status = 'todo' WHERE id = ANY(:ids)"),
                {"ids": running},
            )
            await connection.execute(
                text("DELETE FROM procrastinate_workers WHERE id = :id"), {"id": alive}
            )

    async def test_concurrent_recoveries_requeue_each_job_once(
        self, runtime: Runtime, cleanup: list[int]
    ) -> None:
        dead = await _worker(runtime, silent_for_seconds=60)
        stalled = await _doing_jobs(runtime, dead)
        cleanup.extend(stalled)

        results = await asyncio.gather(
            *(
                recover_stalled_jobs(runtime.engine, runtime.job_app.job_manager, stalled_after=20)
                for _ in range(4)
            )
        )

        found = [job for result in results for job in result if job in stalled]
        assert sorted(found) == sorted(stalled)
        assert await _statuses(runtime, stalled) == ["todo"] * 3


class TestRegistration:
    def test_one_periodic_recovery_for_every_queue(self, runtime: Runtime) -> None:
        task = runtime.job_app.tasks["maintenance:recover_stalled_jobs"]
        assert task.queue == MAINTENANCE_QUEUE
        periodic = {
            p.task.name: p.cron for p in runtime.job_app.periodic_registry.periodic_tasks.values()
        }
        assert periodic["maintenance:recover_stalled_jobs"] == RECOVERY_CRON
        assert not [name for name in periodic if "stalled" in name and not name.startswith("maint")]

    def test_every_task_is_retried_after_a_shutdown(self, runtime: Runtime) -> None:
        for task in runtime.job_app.tasks.values():
            assert isinstance(task.retry_strategy, RetryAfterShutdown), task.name
