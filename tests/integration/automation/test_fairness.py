"""Fair execution jobs: one tenant's backlog never delays another tenant's flows.

The intake gives each execution job the priority minus the executions its tenant still has
running: a busy tenant's jobs go in the order its events happened, and a quiet tenant's first
job goes ahead of all of them (procrastinate takes the highest priority first).
"""

from __future__ import annotations

from sqlalchemy import text

from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import MakeFlow
from tests.integration.conftest import MakeTenant, TenantHandle


async def _priorities(runtime: Runtime, tenant: TenantHandle) -> list[int]:
    """The tenant's execution jobs' priorities, in the order the events happened."""
    async with runtime.engine.connect() as connection:
        rows = await connection.scalars(
            text(
                "SELECT j.priority FROM procrastinate_jobs AS j"
                " JOIN automation_executions AS e ON e.id::text = j.args->>'execution_id'"
                " WHERE e.tenant_id = :tenant ORDER BY e.started_at, j.id"
            ),
            {"tenant": tenant.tenant_id},
        )
        return list(rows)


async def test_a_quiet_tenant_goes_ahead_of_a_busy_one(
    runtime: Runtime, make_tenant: MakeTenant, make_flow: MakeFlow
) -> None:
    busy, quiet = await make_tenant(), await make_tenant()
    for tenant in (busy, quiet):
        await make_flow(tenant)
    for index in range(4):  # no worker runs: the busy tenant's executions stay running
        body = {"name": f"Busy {index}", "email": f"b{index}@example.com"}
        assert (await busy.http.post("/api/customers", json=body)).status_code == 201
    body = {"name": "Quiet", "email": "q@example.com"}
    assert (await quiet.http.post("/api/customers", json=body)).status_code == 201

    assert await _priorities(runtime, busy) == [0, -1, -2, -3]
    assert await _priorities(runtime, quiet) == [0]
    async with runtime.engine.connect() as connection:
        first = await connection.scalar(
            text(
                "SELECT e.tenant_id FROM procrastinate_jobs AS j"
                " JOIN automation_executions AS e ON e.id::text = j.args->>'execution_id'"
                " WHERE j.status = 'todo' AND e.tenant_id IN (:busy, :quiet)"
                " ORDER BY j.priority DESC, j.id OFFSET 1 LIMIT 1"
            ),
            {"busy": busy.tenant_id, "quiet": quiet.tenant_id},
        )
    assert first == quiet.tenant_id  # second in line, right after the busy tenant's first
