"""The task shells: their registered names, retries, and what a final or broken run records."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import httpx
import procrastinate
import pytest
from sqlalchemy import text

from bettercallsold.automation import runner, tasks
from bettercallsold.automation.errors import ReceiverUnavailable
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import (
    MakeFlow,
    SendEvent,
    StubReceiver,
    executions_for_event,
    executions_of,
    reads_only,
)
from tests.integration.conftest import TenantHandle
from tests.integration.jobs import job_context


def _context(runtime: Runtime, attempts: int) -> procrastinate.JobContext:
    return job_context(
        runtime, runner.RUN_EXECUTION_TASK, queue=runner.EXECUTIONS_QUEUE, attempts=attempts
    )


async def _execution(
    runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
) -> uuid.UUID:
    await make_flow(tenant)
    payload: dict[str, Any] = {"name": "A", "email": "a@b.c"}
    response = await send_event(tenant.tenant_id, "customer.created", payload)
    [execution_id] = await executions_for_event(runtime, response.json()["event_id"])
    return execution_id


def test_the_tasks_have_the_names_deferred_by_sql(runtime: Runtime) -> None:
    registered = runtime.job_app.tasks
    assert registered[runner.RUN_EXECUTION_TASK].queue == runner.EXECUTIONS_QUEUE


class TestRunExecutionTask:
    async def test_an_unavailable_receiver_is_retried_until_the_last_attempt(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        stub.status_code = 503
        execution_id = await _execution(runtime, send_event, tenant, make_flow)
        task = tasks.run_execution
        with pytest.raises(ReceiverUnavailable):
            await task.func(_context(stubbed, attempts=0), execution_id=str(execution_id))
        assert [row["status"] for row in await executions_of(runtime, tenant.tenant_id)] == [
            "running"
        ]
        last = _context(stubbed, attempts=tasks.MAX_ATTEMPTS)
        await task.func(last, execution_id=str(execution_id))
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["status"] == "failed"
        assert "503" in row["error"]

    async def test_an_unexpected_error_is_recorded_and_raised(
        self, runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        def explode(request: httpx.Request) -> httpx.Response:
            raise RuntimeError("receiver bug")

        execution_id = await _execution(runtime, send_event, tenant, make_flow)
        async with httpx.AsyncClient(transport=httpx.MockTransport(explode)) as http:
            broken = dataclasses.replace(runtime, http=http, ports=reads_only(runtime.ports))
            with pytest.raises(RuntimeError, match="receiver bug"):
                await tasks.run_execution.func(
                    _context(broken, attempts=0), execution_id=str(execution_id)
                )
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["status"] == "failed"
        assert row["error"] == "internal error: RuntimeError: receiver bug"

    async def test_in_process_an_unexpected_error_rolls_back_then_is_recorded(
        self, runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        class ExplodingReceiver:
            async def perform(self, session: Any, *args: Any) -> list[dict[str, Any]]:
                await session.execute(
                    text(
                        "INSERT INTO automation_event_log (id, flow_execution_id, tenant_id,"
                        " action_type, payload, success) SELECT gen_random_uuid(), e.id,"
                        " e.tenant_id, 'half', '{}', true FROM automation_executions e"
                        " WHERE e.id = :id"
                    ),
                    {"id": execution_id},
                )
                raise RuntimeError("receiver bug")

        execution_id = await _execution(runtime, send_event, tenant, make_flow)
        broken = dataclasses.replace(
            runtime, ports=dataclasses.replace(runtime.ports, receiver=ExplodingReceiver())
        )
        with pytest.raises(RuntimeError, match="receiver bug"):
            await tasks.run_execution.func(
                _context(broken, attempts=0), execution_id=str(execution_id)
            )
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["status"] == "failed"
        assert row["error"] == "internal error: RuntimeError: receiver bug"
        async with runtime.engine.connect() as connection:
            logged = await connection.scalar(
                text("SELECT count(*) FROM automation_event_log WHERE flow_execution_id = :id"),
                {"id": execution_id},
            )
        assert logged == 0  # the half-done work went with the rolled-back transaction
