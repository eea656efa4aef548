"""`GET /plugins/automation/executions[/{id}]`: tenant-scoped, filtered, with the event log."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from bettercallsold.automation import runner
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import (
    EXECUTIONS_PATH,
    FLOWS_PATH,
    MakeFlow,
    SendEvent,
    StubReceiver,
    executions_for_event,
)
from tests.integration.conftest import MakeTenant, TenantHandle


async def _run(
    runtime: Runtime, stubbed: Runtime, send_event: SendEvent, tenant: TenantHandle, payload: dict
) -> list[uuid.UUID]:
    response = await send_event(tenant.tenant_id, "customer.created", payload)
    created = await executions_for_event(runtime, response.json()["event_id"])
    for execution_id in created:
        await runner.run_execution(stubbed, execution_id)
    return created


class TestExecutionsApi:
    async def test_list_filters_and_detail(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        welcome = await make_flow(tenant)
        [completed] = await _run(
            runtime, stubbed, send_event, tenant, {"email": "a@b.c", "name": "A"}
        )
        [skipped] = await _run(runtime, stubbed, send_event, tenant, {"name": "B"})

        listed = (await tenant.http.get(EXECUTIONS_PATH)).json()
        assert [item["id"] for item in listed["items"]] == [str(skipped), str(completed)]
        assert listed["next_cursor"] is None
        only = await tenant.http.get(EXECUTIONS_PATH, params={"status": "skipped"})
        assert [item["id"] for item in only.json()["items"]] == [str(skipped)]
        by_flow = await tenant.http.get(EXECUTIONS_PATH, params={"flow_id": welcome["id"]})
        assert len(by_flow.json()["items"]) == 2
        paged = (await tenant.http.get(EXECUTIONS_PATH, params={"limit": 1})).json()
        rest = await tenant.http.get(
            EXECUTIONS_PATH, params={"limit": 1, "cursor": paged["next_cursor"]}
        )
        assert [item["id"] for item in rest.json()["items"]] == [str(completed)]

        detail = (await tenant.http.get(f"{EXECUTIONS_PATH}/{completed}")).json()
        assert {
            "id", "flow_id", "status", "trigger_data", "execution_results", "started_at",
            "completed_at", "error", "steps", "events",
        } <= set(detail)  # fmt: skip
        assert detail["status"] == "completed"
        assert detail["flow_id"] == welcome["id"]
        assert detail["trigger_data"] == {"email": "a@b.c", "name": "A"}
        assert detail["steps"][0]["passed"] is True
        assert detail["events"] == []  # the stub receiver logs nothing

        flows = (await tenant.http.get(FLOWS_PATH)).json()["items"]
        assert flows[0]["run_count"] == 2
        assert flows[0]["run_counts"] == {"completed": 1, "skipped": 1}
        assert flows[0]["last_status"] == "skipped"

    async def test_the_event_log_rows_are_included(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _run(
            runtime, stubbed, send_event, tenant, {"email": "a@b.c", "name": "A"}
        )
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO automation_event_log (id, flow_execution_id, action_type,"
                    " payload, result, success, tenant_id, step_id) VALUES (:id, :execution,"
                    " 'send_email', CAST('{\"to\": \"a@b.c\"}' AS jsonb),"
                    " CAST('{\"id\": \"n-1\"}' AS jsonb), true, :tenant, 'action_1')"
                ),
                {"id": uuid.uuid4(), "execution": execution_id, "tenant": tenant.tenant_id},
            )
        [event] = (await tenant.http.get(f"{EXECUTIONS_PATH}/{execution_id}")).json()["events"]
        assert event["action_type"] == "send_email"
        assert event["payload"] == {"to": "a@b.c"}
        assert event["result"] == {"id": "n-1"}
        assert event["success"] is True
        assert event["step_id"] == "action_1"

    async def test_another_tenants_execution_is_a_404(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_tenant: MakeTenant,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        await make_flow(tenant)
        [execution_id] = await _run(runtime, stubbed, send_event, tenant, {"name": "A"})
        stranger = await make_tenant()
        assert (await stranger.http.get(f"{EXECUTIONS_PATH}/{execution_id}")).status_code == 404
        assert (await stranger.http.get(EXECUTIONS_PATH)).json()["items"] == []
        missing = await tenant.http.get(f"{EXECUTIONS_PATH}/{uuid.uuid4()}")
        assert missing.status_code == 404

    async def test_needs_a_tenant_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.get(EXECUTIONS_PATH)).status_code == 401
        assert (await client.get(f"{EXECUTIONS_PATH}/{uuid.uuid4()}")).status_code == 401


async def test_the_catalogue_lists_actions_events_and_operators(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/plugins/automation/catalogue")
    assert response.status_code == 200
    catalogue = response.json()
    actions = {action["action_type"]: action for action in catalogue["actions"]}
    assert "send_email" in actions
    assert "create_task" in actions
    assert actions["send_email"]["payload_schema"]["required"] == ["to", "subject"]
    events = {event["event_type"]: event for event in catalogue["events"]}
    assert events["customer.created"]["sample_payload"]["email"]
    operators = [operator["operator"] for operator in catalogue["operators"]]
    assert len(operators) == 14
    assert operators[:2] == ["exists", "not_exists"]
    assert {"active", "paused"} <= set(catalogue["statuses"])
