"""A waiting execution is held by no process: its run job is scheduled in PostgreSQL at its
resume time. Here the worker that ran the flow up to its `wait` (and scheduled the rest) is
SIGKILLed while the execution waits; another worker, started later, resumes it, and the action
before the wait is not performed again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.chaos.processes import ApiProcess, BcsProcess, base_env, eventually, worker_process
from tests.chaos.system import create_flow, create_tenant, scalar, start_worker

pytestmark = pytest.mark.slow

WAITING_FLOW: dict[str, Any] = {
    "name": "Welcome, then a nudge",
    "trigger_event": "customer.created",
    "flow_definition": {
        "steps": [
            {
                "id": "welcome",
                "type": "action",
                "action_type": "send_email",
                "payload_template": {
                    "to": "{{trigger.email}}",
                    "subject": "Welcome",
                    "template": "welcome_email",
                },
            },
            {"id": "later", "type": "wait", "duration": "4 seconds"},
            {
                "id": "nudge",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": "Nudge {{trigger.name}} at {{now}}"},
            },
        ]
    },
}


async def test_a_wait_resumes_on_another_worker_after_a_sigkill(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
    db: psycopg.AsyncConnection[Any],
) -> None:
    env = base_env(chaos_database_url, chaos_var_dir)
    api = ApiProcess(env, log_dir)
    processes.append(api)
    api.start()
    await api.wait_healthy()
    tenant = await create_tenant(env, "waits")
    await create_flow(api.url, tenant, WAITING_FLOW)
    first = worker_process(1, env, log_dir, concurrency=2)
    processes.append(first)
    await start_worker(db, first)

    async with httpx.AsyncClient(base_url=api.url, timeout=30) as client:
        created = await client.post(
            "/api/customers",
            json={"name": "Ann", "email": "ann@example.com"},
            headers={"Authorization": f"Bearer {tenant.token}"},
        )
    assert created.status_code == 201, created.text

    async def status() -> str:
        found = await scalar(
            db,
            "SELECT status FROM automation_executions WHERE tenant_id = %(tenant)s",
            tenant=tenant.tenant_id,
        )
        return str(found)

    async def waiting() -> bool:
        return await status() == "waiting"

    await eventually(waiting, seconds=30, what="the execution to wait")
    await first.kill()  # SIGKILL: no goodbye, no hand-over
    assert await status() == "waiting"
    scheduled = await scalar(
        db,
        "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND scheduled_at IS NOT NULL"
        " AND args->>'execution_id' = (SELECT id::text FROM automation_executions"
        " WHERE tenant_id = %(tenant)s)",
        tenant=tenant.tenant_id,
    )
    assert scheduled == 1, "the resume is a job in the database, not a timer in a process"

    second = worker_process(2, env, log_dir, concurrency=2)
    processes.append(second)
    await start_worker(db, second)

    async def completed() -> bool:
        return await status() == "completed"

    await eventually(completed, seconds=60, what="the execution to resume and complete")
    emails = await scalar(
        db, "SELECT count(*) FROM notifications WHERE tenant_id = %(t)s", t=tenant.tenant_id
    )
    tasks = await scalar(
        db, "SELECT count(*) FROM tasks WHERE tenant_id = %(t)s", t=tenant.tenant_id
    )
    logged = await scalar(
        db, "SELECT count(*) FROM automation_event_log WHERE tenant_id = %(t)s", t=tenant.tenant_id
    )
    assert (emails, tasks, logged) == (1, 1, 2)
