"""`POST /plugins/automation/flows/{id}/test`: verdicts and rendered payloads, no effect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bettercallsold.catalogue import EVENT_SAMPLES
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import FLOWS_PATH, MakeFlow, executions_of
from tests.integration.conftest import TenantHandle


class TestDryRun:
    async def test_a_matching_payload_renders_every_action(
        self, runtime: Runtime, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        payload = {"email": "john@example.com", "name": "John Doe"}
        response = await tenant.http.post(
            f"{FLOWS_PATH}/{flow['id']}/test", json={"payload": payload}
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["matched"] is True
        assert [(s["id"], s["type"]) for s in result["steps"]] == [
            ("condition_1", "condition"),
            ("action_1", "action"),
            ("action_2", "action"),
        ]
        assert result["steps"][0]["passed"] is True
        assert result["actions"][0] == {
            "action_type": "send_email",
            "payload": {
                "to": "john@example.com",
                "subject": "Welcome John Doe!",
                "template": "welcome_email",
            },
        }
        due = datetime.fromisoformat(result["actions"][1]["payload"]["due_date"])
        assert abs(due - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=1)
        assert await executions_of(runtime, tenant.tenant_id) == []

    async def test_a_failing_condition_stops_there(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        response = await tenant.http.post(
            f"{FLOWS_PATH}/{flow['id']}/test", json={"payload": {"name": "No Mail"}}
        )
        result = response.json()
        assert result["matched"] is False
        assert result["actions"] == []
        [step] = result["steps"]
        assert step["id"] == "condition_1"
        assert step["passed"] is False

    async def test_without_a_payload_the_events_sample_is_used(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        result = (await tenant.http.post(f"{FLOWS_PATH}/{flow['id']}/test", json={})).json()
        assert result["matched"] is True
        sample = EVENT_SAMPLES["customer.created"]
        assert result["actions"][0]["payload"]["to"] == sample["email"]

    async def test_errors_are_shown_per_action(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        steps = [
            {"id": "sms", "type": "action", "action_type": "send_sms",
             "payload_template": {"to": "{{trigger.phone}}", "message": "Hi"}},
            {"id": "product", "type": "action", "action_type": "create_product",
             "payload_template": {"name": "{{trigger.name}}", "price": "{{trigger.total}}"}},
            {"id": "task", "type": "action", "action_type": "create_task",
             "payload_template": {"title": "About {{steps.product.name}}"}},
        ]  # fmt: skip
        flow = await make_flow(tenant, flow_definition={"steps": steps})
        response = await tenant.http.post(
            f"{FLOWS_PATH}/{flow['id']}/test", json={"payload": {"name": "Mug", "total": -3}}
        )
        sms, product, task = response.json()["steps"]
        assert "payload" not in sms
        assert "trigger.phone" in sms["error"]
        assert product["payload"] == {"name": "Mug", "price": -3}
        assert "price" in product["error"]
        assert "steps.product" in task["error"]
        assert response.json()["actions"] == [
            {"action_type": "create_product", "payload": {"name": "Mug", "price": -3}}
        ]

    async def test_earlier_outputs_are_simulated(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        steps = [
            {"id": "task", "type": "action", "action_type": "create_task",
             "payload_template": {"title": "Call {{trigger.name}}"}},
            {"id": "assign", "type": "action", "action_type": "assign_task",
             "payload_template": {"id": "{{steps.task.id}}", "assignee": "sam"}},
        ]  # fmt: skip
        flow = await make_flow(tenant, flow_definition={"steps": steps})
        result = (await tenant.http.post(f"{FLOWS_PATH}/{flow['id']}/test", json={})).json()
        assign = result["actions"][1]["payload"]
        assert assign == {"id": EVENT_SAMPLES["task.created"]["id"], "assignee": "sam"}
