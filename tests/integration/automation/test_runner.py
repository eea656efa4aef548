"""The engine jobs, called directly, against a stub receiver (httpx.MockTransport)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest

from bettercallsold.automation import runner
from bettercallsold.automation.errors import ReceiverUnavailable
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import (
    MakeFlow,
    SendEvent,
    StubReceiver,
    executions_for_event,
    executions_of,
)
from tests.integration.conftest import TenantHandle

CUSTOMER = {"customer_id": "c-1", "name": "John Doe", "email": "john@example.com"}
Stubbed = tuple[Runtime, StubReceiver]


async def _start(
    runtime: Runtime,
    send_event: SendEvent,
    tenant: TenantHandle,
    payload: dict[str, Any],
    **kw: Any,
) -> list[uuid.UUID]:
    response = await send_event(tenant.tenant_id, "customer.created", payload, **kw)
    assert response.status_code == 202, response.text
    return await executions_for_event(runtime, response.json()["event_id"])


class TestRunEvent:
    async def test_one_running_execution_per_active_flow(
        self, runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        first = await make_flow(tenant)
        second = await make_flow(tenant, name="Second")
        await make_flow(tenant, name="Paused", status="paused")
        created = await _start(runtime, send_event, tenant, CUSTOMER, depth=1)
        assert len(created) == 2
        rows = await executions_of(runtime, tenant.tenant_id)
        assert {row["flow_id"] for row in rows} == {uuid.UUID(first["id"]), uuid.UUID(second["id"])}
        for row in rows:
            assert row["status"] == "running"
            assert row["trigger_data"] == CUSTOMER
            assert row["causation_depth"] == 1
            assert row["event_type"] == "customer.created"
            assert row["definition"] == first["flow_definition"]

    async def test_another_event_type_starts_nothing(
        self, runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        response = await send_event(tenant.tenant_id, "customer.updated", CUSTOMER)
        assert await executions_for_event(runtime, response.json()["event_id"]) == []

    async def test_an_event_past_the_depth_limit_records_a_failed_execution(
        self, runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        cause = uuid.uuid4()
        limit = runtime.settings.max_causation_depth
        await _start(runtime, send_event, tenant, CUSTOMER, depth=limit + 1, caused_by=cause)
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["status"] == "failed"
        assert row["completed_at"] is not None
        assert f"depth limit {limit} exceeded" in row["error"]
        assert "loop" in row["error"]
        assert str(cause) in row["error"]

    async def test_the_limit_itself_still_runs(
        self, runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        depth = runtime.settings.max_causation_depth
        await _start(runtime, send_event, tenant, CUSTOMER, depth=depth)
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["status"] == "running"


class TestRunExecution:
    async def test_the_welcome_flow_sends_one_batch_and_completes(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _start(runtime, send_event, tenant, CUSTOMER)
        assert await runner.run_execution(stubbed, execution_id) == "completed"

        [batch] = stub.batches()
        assert stub.keys() == [f"{execution_id}:action_1"]
        assert batch["flow_execution_id"] == str(execution_id)
        email, task = batch["events"]
        assert email == {
            "action_type": "send_email",
            "step_id": "action_1",
            "payload": {
                "to": "john@example.com",
                "subject": "Welcome John Doe!",
                "template": "welcome_email",
            },
        }
        assert stub.requests[0].headers["Authorization"].startswith("Bearer ")

        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["status"] == "completed"
        assert row["error"] is None
        # `now` is the execution's start: a retried run renders the very same batch.
        due = datetime.fromisoformat(task["payload"]["due_date"])
        assert due == row["started_at"] + timedelta(days=3)
        assert [step["id"] for step in row["steps"]] == ["condition_1", "action_1", "action_2"]
        assert row["steps"][0]["passed"] is True
        assert row["steps"][0]["operator"] == "exists"
        assert row["steps"][1]["payload"] == email["payload"]
        assert [r["step_id"] for r in row["execution_results"]] == ["action_1", "action_2"]
        assert all(r["success"] for r in row["execution_results"])
        assert await runner.run_execution(stubbed, execution_id) is None
        assert len(stub.requests) == 1

    async def test_a_condition_that_fails_first_skips(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _start(runtime, send_event, tenant, {"name": "No Mail"})
        assert await runner.run_execution(stubbed, execution_id) == "skipped"
        assert stub.requests == []
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["steps"] == [
            {
                "id": "condition_1",
                "type": "condition",
                "passed": False,
                "field": "email",
                "operator": "exists",
                "expected": None,
                "actual": None,
                "reason": "field is missing",
            }
        ]

    async def test_an_action_using_an_earlier_output_goes_in_a_later_batch(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        steps = [
            {"id": "task", "type": "action", "action_type": "create_task",
             "payload_template": {"title": "Call {{trigger.name}}"}},
            {"id": "mail", "type": "action", "action_type": "send_email",
             "payload_template": {"to": "{{trigger.email}}", "subject": "Hi"}},
            {"id": "assign", "type": "action", "action_type": "assign_task",
             "payload_template": {"id": "{{steps.task.id}}", "assignee": "sam"}},
        ]  # fmt: skip
        await make_flow(tenant, flow_definition={"steps": steps})
        [execution_id] = await _start(runtime, send_event, tenant, CUSTOMER)
        assert await runner.run_execution(stubbed, execution_id) == "completed"
        first, second = stub.batches()
        assert [e["step_id"] for e in first["events"]] == ["task", "mail"]
        assert stub.keys() == [f"{execution_id}:task", f"{execution_id}:assign"]
        [row] = await executions_of(runtime, tenant.tenant_id)
        created_task = row["execution_results"][0]["data"]
        assert second["events"][0]["payload"] == {"id": created_task["id"], "assignee": "sam"}

    async def test_a_failed_action_completes_with_errors(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        stub.failing_actions.add("create_task")
        await make_flow(tenant)
        [execution_id] = await _start(runtime, send_event, tenant, CUSTOMER)
        assert await runner.run_execution(stubbed, execution_id) == "completed_with_errors"
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert "1 of 2 actions failed" in row["error"]
        assert "action_2" in row["error"]
        assert row["steps"][2]["success"] is False
        assert row["steps"][2]["error"] == "stub"

    async def test_a_template_error_fails_that_action_only(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        steps = [
            {"id": "sms", "type": "action", "action_type": "send_sms",
             "payload_template": {"to": "{{trigger.phone}}", "message": "Hi"}},
            {"id": "task", "type": "action", "action_type": "create_task",
             "payload_template": {"title": "Call {{trigger.phone | default: 'them'}}"}},
        ]  # fmt: skip
        await make_flow(tenant, flow_definition={"steps": steps})
        [execution_id] = await _start(runtime, send_event, tenant, CUSTOMER)
        assert await runner.run_execution(stubbed, execution_id) == "completed_with_errors"
        [batch] = stub.batches()
        assert [e["step_id"] for e in batch["events"]] == ["task"]
        assert batch["events"][0]["payload"] == {"title": "Call them"}
        [row] = await executions_of(runtime, tenant.tenant_id)
        sms = row["steps"][0]
        assert "payload" not in sms
        assert "trigger.phone" in sms["error"]
        assert row["execution_results"][0] == {
            "step_id": "sms",
            "action_type": "send_sms",
            "success": False,
            "error": sms["error"],
        }

    async def test_an_unavailable_receiver_is_retried_with_the_same_key_and_body(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _start(runtime, send_event, tenant, CUSTOMER)
        stub.status_code = 503
        with pytest.raises(ReceiverUnavailable, match="503"):
            await runner.run_execution(stubbed, execution_id, final_attempt=False)
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert row["status"] == "running"
        stub.status_code = 200
        assert await runner.run_execution(stubbed, execution_id) == "completed"
        first, second = stub.requests
        assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
        assert first.content == second.content

    async def test_the_last_attempt_records_the_failure(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _start(runtime, send_event, tenant, CUSTOMER)
        stub.status_code = 502
        assert await runner.run_execution(stubbed, execution_id, final_attempt=True) == "failed"
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert "502" in row["error"]
        assert row["steps"][1]["error"].startswith("not sent:")

    async def test_a_refused_batch_fails_at_once(
        self,
        runtime: Runtime,
        stub_receiver: Stubbed,
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _start(runtime, send_event, tenant, CUSTOMER)
        stub.status_code = 401
        assert await runner.run_execution(stubbed, execution_id, final_attempt=False) == "failed"
        [row] = await executions_of(runtime, tenant.tenant_id)
        assert "refused" in row["error"]
        assert "401" in row["error"]
