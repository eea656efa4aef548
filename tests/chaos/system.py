"""Helpers of the chaos tests: a tenant and its flow, customers, and reading the database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg

from tests.chaos.processes import BCS, BcsProcess, eventually


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    token: str


async def create_tenant(env: Mapping[str, str], name: str) -> Tenant:
    """`bcs tenants create NAME`, as an operator would."""
    process = await asyncio.create_subprocess_exec(
        BCS,
        "tenants",
        "create",
        name,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    issued = json.loads(out)
    return Tenant(issued["tenant_id"], issued["api_token"])


async def create_flow(base_url: str, tenant: Tenant, flow: dict[str, Any]) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        response = await client.post(
            "/plugins/automation/flows",
            json=flow,
            headers={"Authorization": f"Bearer {tenant.token}"},
        )
    assert response.status_code == 201, response.text
    flow_id: str = response.json()["id"]
    return flow_id


async def scalar(db: psycopg.AsyncConnection[Any], sql: str, **params: Any) -> Any:
    row = await (await db.execute(sql, params)).fetchone()  # type: ignore[arg-type]
    return None if row is None else row[0]


async def counts(db: psycopg.AsyncConnection[Any], sql: str, **params: Any) -> dict[str, int]:
    """`SELECT key, count ...` as a dict."""
    rows = await (await db.execute(sql, params)).fetchall()  # type: ignore[arg-type]
    return {str(key): int(count) for key, count in rows}


async def newest_worker_id(db: psycopg.AsyncConnection[Any]) -> int:
    found = await scalar(db, "SELECT coalesce(max(id), 0) FROM procrastinate_workers")
    return int(found)


async def start_worker(db: psycopg.AsyncConnection[Any], process: BcsProcess) -> int:
    """Start a `bcs worker` and wait for its procrastinate worker to register; its id.

    Workers are started one at a time, so the first id registered after the start is its own.
    """
    before = await newest_worker_id(db)
    process.start()
    registered: list[int] = []

    async def has_registered() -> bool:
        if not process.alive:
            raise AssertionError(f"{process.name} exited (log: {process.log})")
        found = await newest_worker_id(db)
        if found > before:
            registered.append(found)
            return True
        return False

    await eventually(has_registered, seconds=60, what=f"{process.name} to register")
    return registered[-1]


WELCOME_OUTCOMES = """
SELECT c.id, c.name,
       (SELECT count(*) FROM notifications n
         WHERE n.tenant_id = c.tenant_id AND n."to" = c.email AND n.template = 'welcome_email'),
       (SELECT count(*) FROM tasks t
         WHERE t.tenant_id = c.tenant_id AND t.title = 'Follow up with ' || c.name),
       (SELECT count(*) FROM automation_executions e
         WHERE e.tenant_id = c.tenant_id AND e.trigger_data->>'customer_id' = c.id::text),
       (SELECT count(*) FROM automation_executions e
         WHERE e.tenant_id = c.tenant_id AND e.trigger_data->>'customer_id' = c.id::text
           AND e.status = 'completed'),
       (SELECT count(*) FROM automation_event_log l
         JOIN automation_executions e ON e.id = l.flow_execution_id
         WHERE e.tenant_id = c.tenant_id AND e.trigger_data->>'customer_id' = c.id::text)
FROM customers c WHERE c.tenant_id = %(tenant)s
ORDER BY c.created_at
"""
"""Per customer of a tenant, what its welcome flow left: (id, name, welcome emails to its
address, follow-up tasks with its name, executions, of which completed, event-log rows)."""
