"""Poison work: a flow whose receiver fails every time is retried with growing waits while the
rest of the queue flows past it, and after its last attempt it ends `failed` with the reason,
visible in the executions API; nothing of it is left in the queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from bettercallsold.automation.tasks import MAX_ATTEMPTS
from tests.chaos.conftest import WELCOME_FLOW
from tests.chaos.processes import ApiProcess, BcsProcess, base_env, eventually, free_port
from tests.chaos.stub_receiver import StubReceiver
from tests.chaos.system import counts, create_flow, create_tenant, scalar, start_worker

pytestmark = pytest.mark.slow

HEALTHY = 6


async def test_a_flow_that_always_fails_ends_failed_without_blocking_the_queue(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
    db: psycopg.AsyncConnection[Any],
) -> None:
    port = free_port()
    plugin = {"plugin_url": f"http://127.0.0.1:{port}"}
    api = ApiProcess(base_env(chaos_database_url, chaos_var_dir, **plugin), log_dir, port)
    processes.append(api)
    api.start()
    await api.wait_healthy()
    tenant = await create_tenant(api.env, "poison")
    await create_flow(api.url, tenant, WELCOME_FLOW)
    async with (
        StubReceiver() as stub,
        httpx.AsyncClient(
            base_url=api.url, headers={"Authorization": f"Bearer {tenant.token}"}
        ) as client,
    ):
        stub.poison = b"poison@example.com"
        env = base_env(chaos_database_url, chaos_var_dir, platform_url=stub.url, **plugin)
        worker = BcsProcess("worker", ["worker", "--concurrency", "2"], env, log_dir)
        processes.append(worker)
        await start_worker(db, worker)

        poison = {"name": "Poison", "email": "poison@example.com"}
        assert (await client.post("/api/customers", json=poison)).status_code == 201
        for index in range(HEALTHY):
            body = {"name": f"Healthy {index}", "email": f"h{index}@example.com"}
            assert (await client.post("/api/customers", json=body)).status_code == 201

        async def healthy_done_poison_retrying() -> bool:
            found = await counts(
                db,
                "SELECT status, count(*) FROM automation_executions WHERE tenant_id = %(t)s "
                "GROUP BY 1",
                t=tenant.tenant_id,
            )
            return found == {"completed": HEALTHY, "running": 1}

        await eventually(
            healthy_done_poison_retrying, seconds=60, what="the healthy flows to pass the poison"
        )
        job = (
            await (
                await db.execute(
                    "SELECT id, status, attempts, scheduled_at > now() FROM procrastinate_jobs "
                    "WHERE task_name = 'automation:run_execution'"
                )
            ).fetchall()
        )[0]
        job_id, status, attempts, waiting = job
        assert (status, waiting) == ("todo", True), job  # retried later, not in the way
        assert attempts >= 1

        # Its retries wait 2, 4 ... 1024 s (about 34 minutes): jump to the last attempt.
        await db.execute(
            "UPDATE procrastinate_jobs SET attempts = %(last)s, scheduled_at = now() "
            "WHERE id = %(id)s",
            {"last": MAX_ATTEMPTS, "id": job_id},
        )

        async def poison_failed() -> bool:
            found = await client.get("/plugins/automation/executions", params={"status": "failed"})
            return bool(found.json()["items"])

        await eventually(poison_failed, seconds=30, what="the poisoned flow to end failed")
        [failed] = (
            await client.get("/plugins/automation/executions", params={"status": "failed"})
        ).json()["items"]
        assert failed["trigger_data"]["email"] == "poison@example.com"
        assert "503" in failed["error"]
        assert failed["completed_at"] is not None
        left = await scalar(
            db,
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
            "AND queue_name = 'executions'",
        )
        assert int(left) == 0
        assert len(stub.batches()) >= attempts + 1
        assert await worker.stop() == 0
