"""`send_http_request`: the receiver calls a real HTTP server on 127.0.0.1, through the address
guard, after the execution's progress is committed; the answer feeds the next step.

The session app refuses private addresses (the operator's default): a copy of its runtime
allowing them plays an operator who set `BCS_WEBHOOK_ALLOW_PRIVATE_URLS`, and runs the
execution's jobs directly, in process: the run stops at the call (`calling`, its progress
committed), the call's own job makes it (`runner.make_outside_call`), and the run goes on."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid
from typing import Any

from sqlalchemy import text

from bettercallsold.automation import repository, runner
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import MakeFlow
from tests.integration.bus.receiver import Receiver, Reply, Request
from tests.integration.conftest import TenantHandle


def calling_flow(url: str) -> dict[str, Any]:
    return {
        "steps": [
            {
                "id": "call",
                "type": "action",
                "action_type": "send_http_request",
                "payload_template": {
                    "method": "POST",
                    "url": url,
                    "headers": {"X-Shop": "{{trigger.shop}}", "Host": "evil.example"},
                    "body": {"order": "{{trigger.order_id}}"},
                },
            },
            {
                "id": "after",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": "greeted: {{steps.call.body.greeting}}"},
            },
        ]
    }


async def greet(request: Request) -> Reply:
    del request
    body = json.dumps({"greeting": "hello"}).encode()
    return Reply(200, headers={"Content-Type": "application/json"}, body=body)


async def _launch(runtime: Runtime, tenant: TenantHandle, flow_id: str) -> uuid.UUID:
    async with runtime.sessionmaker() as session, session.begin():
        execution_id = await repository.launch_execution(
            session,
            repository.Launch(
                tenant_id=tenant.tenant_id,
                flow_id=uuid.UUID(flow_id),
                event_id=f"run:{uuid.uuid4().hex}",
                payload={"order_id": "o-7", "shop": "acme"},
                queue=runner.EXECUTIONS_QUEUE,
                task=runner.RUN_EXECUTION_TASK,
            ),
        )
    assert execution_id is not None
    return execution_id


async def _run_to_end(runtime: Runtime, execution_id: uuid.UUID) -> str | None:
    """The execution's run job, and the outside-call job each time it stops at one."""
    status = await runner.run_execution(runtime, execution_id)
    while status == "calling":
        found = await _execution(runtime, execution_id)
        assert found.status == "running"  # progress committed, the call not made yet
        assert await runner.make_outside_call(runtime, execution_id)
        status = await runner.run_execution(runtime, execution_id)
    return status


async def _execution(runtime: Runtime, execution_id: uuid.UUID) -> Any:
    async with runtime.sessionmaker() as session:
        return (
            await session.execute(
                text("SELECT status, steps, error FROM automation_executions WHERE id = :id"),
                {"id": execution_id},
            )
        ).one()


async def test_the_call_is_made_keyed_and_its_answer_feeds_the_next_step(
    runtime: Runtime, tenant: TenantHandle, make_flow: MakeFlow
) -> None:
    allowing = dataclasses.replace(
        runtime,
        settings=runtime.settings.model_copy(update={"webhook_allow_private_urls": True}),
    )
    async with Receiver(greet) as server:
        flow = await make_flow(
            tenant, trigger_event="order.created", flow_definition=calling_flow(server.url)
        )
        execution_id = await _launch(runtime, tenant, flow["id"])
        status = await _run_to_end(allowing, execution_id)
    assert status == "completed"
    [request] = server.requests
    assert request.method == "POST"
    assert request.headers["idempotency-key"] == f"{execution_id}:call"
    assert request.headers["x-shop"] == "acme"
    assert request.headers["host"].startswith("127.0.0.1")  # not the tenant's "Host"
    assert json.loads(request.body) == {"order": "o-7"}
    tasks = (await tenant.http.get("/api/tasks")).json()["items"]
    assert [task["title"] for task in tasks] == ["greeted: hello"]
    found = await _execution(runtime, execution_id)
    call = found.steps[0]
    assert call["success"] is True
    logs = (await tenant.http.get(f"/plugins/automation/executions/{execution_id}")).json()
    assert [event["action_type"] for event in logs["events"]] == [
        "send_http_request",
        "create_task",
    ]
    assert logs["events"][0]["result"]["data"]["status_code"] == 200


async def test_a_private_address_is_refused_by_default_and_the_flow_goes_on(
    runtime: Runtime, tenant: TenantHandle, make_flow: MakeFlow
) -> None:
    async with Receiver(greet) as server:
        flow = await make_flow(
            tenant, trigger_event="order.created", flow_definition=calling_flow(server.url)
        )
        execution_id = await _launch(runtime, tenant, flow["id"])
        status = await _run_to_end(runtime, execution_id)
        assert server.requests == []
    assert status == "completed_with_errors"
    found = await _execution(runtime, execution_id)
    assert "send_http_request" in found.error
    assert found.steps[0]["success"] is False
    assert "steps.call" in found.steps[1]["error"]  # the answer it needed never came


async def test_an_error_status_fails_the_action_naming_it(
    runtime: Runtime, tenant: TenantHandle, make_flow: MakeFlow
) -> None:
    async def refuse(request: Request) -> Reply:
        del request
        return Reply(503, body=b"down")

    allowing = dataclasses.replace(
        runtime,
        settings=runtime.settings.model_copy(update={"webhook_allow_private_urls": True}),
    )
    async with Receiver(refuse) as server:
        flow = await make_flow(
            tenant, trigger_event="order.created", flow_definition=calling_flow(server.url)
        )
        execution_id = await _launch(runtime, tenant, flow["id"])
        await _run_to_end(allowing, execution_id)
    found = await _execution(runtime, execution_id)
    assert "answered 503" in found.steps[0]["error"]


async def test_a_worker_runs_the_call_as_its_own_job_and_goes_on(
    runtime: Runtime, tenant: TenantHandle, make_flow: MakeFlow, worker: None
) -> None:
    """With a real worker: the run stops at the call, the call's job makes it (refused here:
    a private address), and the run goes on to the task that needed no answer."""
    definition = calling_flow("http://127.0.0.1:9/hook")
    definition["steps"][1]["payload_template"]["title"] = "after the call"
    flow = await make_flow(tenant, trigger_event="order.created", flow_definition=definition)
    execution_id = await _launch(runtime, tenant, flow["id"])
    deadline = asyncio.get_running_loop().time() + 30
    while (found := await _execution(runtime, execution_id)).status == "running":
        assert asyncio.get_running_loop().time() < deadline, found
        await asyncio.sleep(0.05)
    assert found.status == "completed_with_errors"
    assert [step["id"] for step in found.steps] == ["call", "after"]
    tasks = (await tenant.http.get("/api/tasks")).json()["items"]
    assert [task["title"] for task in tasks] == ["after the call"]
