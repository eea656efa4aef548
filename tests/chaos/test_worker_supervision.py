"""A `bcs worker` whose procrastinate worker fails starts it again instead of lingering as a
process that takes no work: here its registration was pruned by another process (as happens
to a worker silent for longer than BCS_WORKER_STALLED_SECONDS), so its next fetch fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.chaos.processes import BcsProcess, base_env, eventually
from tests.chaos.system import newest_worker_id, scalar, start_worker

pytestmark = pytest.mark.slow


async def test_a_failed_worker_is_started_again(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
    db: psycopg.AsyncConnection[Any],
) -> None:
    env = base_env(chaos_database_url, chaos_var_dir)
    worker = BcsProcess("worker", ["worker", "--concurrency", "2"], env, log_dir)
    processes.append(worker)
    first = await start_worker(db, worker)

    await db.execute("DELETE FROM procrastinate_workers WHERE id = %(id)s", {"id": first})
    [job] = await scalar(
        db,
        "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW('maintenance', 'receiver:purge_keys', 0,"
        " NULL, NULL, %(args)s::jsonb, NULL)::procrastinate_job_to_defer_v1])",
        args=json.dumps({"timestamp": 0}),
    )

    async def registered_again() -> bool:
        return await newest_worker_id(db) > first

    await eventually(registered_again, seconds=30, what="the worker to register again")

    async def job_done() -> bool:
        left = await scalar(db, "SELECT count(*) FROM procrastinate_jobs WHERE id = %(id)s", id=job)
        return int(left) == 0  # succeeded jobs are deleted

    await eventually(job_done, seconds=30, what="the job to run on the new registration")
    assert worker.alive
    assert "starting it again" in worker.log.read_text()
    assert await worker.stop() == 0
