"""`POST /api/events/automation`: results of failing actions, credentials, 404 and 422."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from tests.integration.conftest import TenantHandle
from tests.integration.receiver.conftest import RECEIVER_PATH, Execution, MakeExecution, Receiver

PRODUCT = {"action_type": "create_product", "payload": {"name": "Kept", "price": 5}}


async def _products(tenant: TenantHandle) -> list[dict[str, Any]]:
    response = await tenant.http.get("/api/products")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


@pytest.mark.both_receiver_modes
class TestFailingActions:
    async def test_unknown_action_type_fails_while_the_others_succeed(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        events = [
            PRODUCT,
            {"action_type": "launch_rocket", "payload": {"to": "moon"}, "step_id": "action_2"},
            {"action_type": "send_sms", "payload": {"to": "+15550001111", "message": "hi"}},
        ]
        first, unknown, last = await receiver.results(execution, events)
        assert unknown == {
            "action_type": "launch_rocket",
            "success": False,
            "error": "Unknown action type: launch_rocket",
        }
        assert first["success"] is True
        assert last["success"] is True
        assert len(await _products(execution.tenant)) == 1
        log = await receiver.log(execution)
        assert [(row["action_type"], row["success"]) for row in log] == [
            ("create_product", True),
            ("launch_rocket", False),
            ("send_sms", True),
        ]
        assert log[1]["result"] == unknown
        assert log[1]["step_id"] == "action_2"

    async def test_a_payload_missing_a_required_field_fails_naming_it(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        events = [{"action_type": "create_product", "payload": {"name": "No price"}}, PRODUCT]
        missing, kept = await receiver.results(execution, events)
        assert missing["success"] is False
        assert "price" in missing["error"]
        assert kept["success"] is True
        assert [p["name"] for p in await _products(execution.tenant)] == ["Kept"]
        log = await receiver.log(execution)
        assert (log[0]["success"], log[0]["result"]) == (False, missing)

    async def test_a_platform_404_fails_with_the_status(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        missing_id = str(uuid.uuid4())
        events = [{"action_type": "update_product", "payload": {"id": missing_id, "price": 1}}]
        [result] = await receiver.results(execution, events)
        assert result["success"] is False
        assert "404" in result["error"]
        assert "not found" in result["error"]
        [row] = await receiver.log(execution)
        assert row["success"] is False

    async def test_a_platform_422_names_the_field(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        events = [
            {
                "action_type": "create_order",
                "payload": {
                    "customer_id": str(uuid.uuid4()),
                    "items": [{"product_id": str(uuid.uuid4()), "quantity": 1}],
                },
            }
        ]
        [result] = await receiver.results(execution, events)
        assert result["success"] is False
        assert "422" in result["error"]
        assert "customer_id" in result["error"]

    async def test_a_forbidden_order_move_is_a_409_result(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        tenant = execution.tenant
        customer = (await tenant.http.post("/api/customers", json={"name": "C"})).json()
        product = (await tenant.http.post("/api/products", json={"name": "P", "price": 1})).json()
        order = (
            await tenant.http.post(
                "/api/orders",
                json={
                    "customer_id": customer["id"],
                    "items": [{"product_id": product["id"], "quantity": 1}],
                },
            )
        ).json()
        events = [
            {"action_type": "update_order_status", "payload": {"id": order["id"], "status": s}}
            for s in ("delivered", "paid")
        ]
        refused, moved = await receiver.results(execution, events)
        assert refused["success"] is False
        assert "409" in refused["error"]
        assert moved["success"] is True
        assert moved["data"]["status"] == "paid"

    async def test_an_id_cannot_reach_another_path(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        events = [{"action_type": "delete_product", "payload": {"id": "../customers"}}]
        [result] = await receiver.results(execution, events)
        assert result["success"] is False
        assert "/api/products/%2E%2E%2Fcustomers" in result["error"]

    async def test_an_empty_batch_answers_no_results(
        self, receiver: Receiver, execution: Execution
    ) -> None:
        assert await receiver.results(execution, []) == []


class TestRequestErrors:
    async def test_an_unknown_execution_is_a_404(self, receiver: Receiver) -> None:
        ghost = Execution(id=uuid.uuid4(), tenant=None, depth=0)  # type: ignore[arg-type]
        response = await receiver.send(ghost, [PRODUCT])
        assert response.status_code == 404
        assert isinstance(response.json()["detail"], str)

    @pytest.mark.parametrize(
        "body",
        [
            {"events": []},
            {"flow_execution_id": "not-a-uuid", "events": []},
            {"flow_execution_id": "EXECUTION", "events": "create_product"},
            {"flow_execution_id": "EXECUTION", "events": [{"payload": {}}]},
            {"flow_execution_id": "EXECUTION", "events": [{"action_type": "x", "payload": []}]},
        ],
    )
    async def test_a_malformed_body_is_a_422(
        self, plugin: httpx.AsyncClient, execution: Execution, body: dict[str, Any]
    ) -> None:
        if body.get("flow_execution_id") == "EXECUTION":
            body = {**body, "flow_execution_id": str(execution.id)}
        response = await plugin.post(RECEIVER_PATH, json=body)
        assert response.status_code == 422
        assert isinstance(response.json()["detail"], list)

    async def test_invalid_json_is_a_422(self, plugin: httpx.AsyncClient) -> None:
        response = await plugin.post(
            RECEIVER_PATH, content=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422

    @pytest.mark.parametrize("authorization", [None, "Bearer wrong", "Basic abc", "Bearer "])
    async def test_no_or_a_wrong_credential_is_a_401(
        self, client: httpx.AsyncClient, execution: Execution, authorization: str | None
    ) -> None:
        headers = {"Authorization": authorization} if authorization is not None else {}
        response = await client.post(
            RECEIVER_PATH,
            json={"flow_execution_id": str(execution.id), "events": [PRODUCT]},
            headers=headers,
        )
        assert response.status_code == 401
        assert isinstance(response.json()["detail"], str)
        assert await _products(execution.tenant) == []

    async def test_a_tenant_token_is_not_the_plugin_credential(self, execution: Execution) -> None:
        response = await execution.tenant.http.post(
            RECEIVER_PATH, json={"flow_execution_id": str(execution.id), "events": [PRODUCT]}
        )
        assert response.status_code == 401
        assert await _products(execution.tenant) == []

    async def test_the_credential_is_checked_before_the_body(
        self, client: httpx.AsyncClient
    ) -> None:
        response = await client.post(RECEIVER_PATH, json={"nonsense": True})
        assert response.status_code == 401

    async def test_the_openapi_document_describes_the_endpoint(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        del settings
        document = (await client.get("/openapi.json")).json()
        operation = document["paths"][RECEIVER_PATH]["post"]
        assert {"200", "401", "404", "409", "422"} <= set(operation["responses"])
        invalid = operation["responses"]["422"]["content"]["application/json"]["schema"]
        assert invalid == {"$ref": "#/components/schemas/HTTPValidationError"}
        assert any(p["name"] == "Idempotency-Key" for p in operation["parameters"])


async def test_the_port_answers_exactly_as_the_endpoint(
    plugin: httpx.AsyncClient, runtime: Runtime, make_execution: MakeExecution
) -> None:
    """The same batch, refused in every way a platform refuses, gives the same results and the
    same log whether the receiver is reached over HTTP or through its in-process port."""
    first = await make_execution()
    second = await make_execution(first.tenant)
    ghost = str(uuid.uuid4())
    events = [
        {"action_type": "update_product", "payload": {"id": ghost, "price": 1}, "step_id": "a"},
        {"action_type": "update_product", "payload": {"id": "not-a-uuid", "price": 1}},
        {"action_type": "create_product", "payload": {"name": "X", "price": -1}},
        {"action_type": "create_task", "payload": {"title": "T", "due_date": "tomorrow"}},
        {"action_type": "send_email", "payload": {"to": "nobody", "subject": "S"}},
        {"action_type": "launch_rocket", "payload": {}},
    ]
    over_http = await Receiver(plugin, runtime, "http").results(first, events)
    through_port = await Receiver(plugin, runtime, "port").results(second, events)
    assert through_port == over_http
    assert [result["success"] for result in over_http] == [False] * len(events)
    http_log = await Receiver(plugin, runtime).log(first)
    port_log = await Receiver(plugin, runtime).log(second)
    assert [row["result"] for row in port_log] == [row["result"] for row in http_log]


@pytest.mark.parametrize("status", ["completed", "skipped", "failed"])
async def test_a_batch_for_an_execution_no_longer_running_is_a_409(
    receiver: Receiver, execution: Execution, runtime: Runtime, status: str
) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE automation_executions SET status = :s WHERE id = :id"),
            {"s": status, "id": execution.id},
        )
    response = await receiver.send(execution, [PRODUCT], key=f"{execution.id}:action_1")
    assert response.status_code == 409
    assert status in response.json()["detail"]
    assert await _products(execution.tenant) == []
    assert await receiver.log(execution) == []
