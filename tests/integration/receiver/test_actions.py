"""Every action type of the catalogue, against the real platform APIs.

Each test checks the three things a merchant relies on: the object really exists or changed
(read back through the platform API), the event-log row says so, and the platform event the
action caused carries the execution and `depth + 1`.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import TenantHandle
from tests.integration.receiver.conftest import Execution, Receiver

pytestmark = pytest.mark.both_receiver_modes


async def _act(
    receiver: Receiver,
    execution: Execution,
    action_type: str,
    payload: dict[str, Any],
    caused: str,
) -> dict[str, Any]:
    """Run one action; check its result, its log row and the event it caused; its `data`."""
    [result] = await receiver.results(
        execution, [{"action_type": action_type, "payload": payload, "step_id": "action_1"}]
    )
    assert result["success"] is True, result
    assert result["action_type"] == action_type
    assert "error" not in result
    data: dict[str, Any] = result["data"]

    [row] = await receiver.log(execution)
    assert row["action_type"] == action_type
    assert row["payload"] == payload
    assert row["success"] is True
    assert row["result"] == result
    assert row["tenant_id"] == execution.tenant.tenant_id
    assert row["step_id"] == "action_1"

    events = await receiver.caused_events(execution, caused)
    assert [event["payload"]["id"] for event in events] == [data.get("id", payload.get("id"))]
    assert events[0]["causation_depth"] == execution.depth + 1
    assert events[0]["tenant_id"] == execution.tenant.tenant_id
    return data


async def _create(tenant: TenantHandle, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await tenant.http.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def _read(tenant: TenantHandle, path: str) -> dict[str, Any]:
    response = await tenant.http.get(path)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


class TestProductActions:
    async def test_create_product(self, receiver: Receiver, execution: Execution) -> None:
        payload = {"name": "New Product", "price": 29.99, "sku": "NP-1", "tags": ["new"]}
        data = await _act(receiver, execution, "create_product", payload, "product.created")
        stored = await _read(execution.tenant, f"/api/products/{data['id']}")
        assert (stored["name"], stored["price"], stored["sku"]) == ("New Product", 29.99, "NP-1")
        assert stored == data

    async def test_update_product(self, receiver: Receiver, execution: Execution) -> None:
        product = await _create(execution.tenant, "/api/products", {"name": "Mug", "price": 10})
        payload = {"id": product["id"], "price": 12.5, "inventory": 25}
        data = await _act(receiver, execution, "update_product", payload, "product.updated")
        stored = await _read(execution.tenant, f"/api/products/{product['id']}")
        assert (stored["name"], stored["price"], stored["inventory"]) == ("Mug", 12.5, 25)
        assert data["price"] == 12.5

    async def test_delete_product(self, receiver: Receiver, execution: Execution) -> None:
        product = await _create(execution.tenant, "/api/products", {"name": "Old", "price": 1})
        payload = {"id": product["id"]}
        data = await _act(receiver, execution, "delete_product", payload, "product.deleted")
        assert data == {"id": product["id"], "deleted": True}
        gone = await execution.tenant.http.get(f"/api/products/{product['id']}")
        assert gone.status_code == 404


class TestCustomerActions:
    async def test_create_customer(self, receiver: Receiver, execution: Execution) -> None:
        payload = {"name": "Jane Doe", "email": "jane@example.com", "tags": ["new"]}
        data = await _act(receiver, execution, "create_customer", payload, "customer.created")
        stored = await _read(execution.tenant, f"/api/customers/{data['id']}")
        assert (stored["name"], stored["email"], stored["tags"]) == (
            "Jane Doe",
            "jane@example.com",
            ["new"],
        )

    async def test_update_customer(self, receiver: Receiver, execution: Execution) -> None:
        customer = await _create(execution.tenant, "/api/customers", {"name": "John"})
        payload = {"id": customer["id"], "tags": ["vip"]}
        await _act(receiver, execution, "update_customer", payload, "customer.updated")
        stored = await _read(execution.tenant, f"/api/customers/{customer['id']}")
        assert (stored["name"], stored["tags"]) == ("John", ["vip"])


class TestOrderActions:
    async def _customer_and_product(self, tenant: TenantHandle) -> tuple[str, str]:
        customer = await _create(tenant, "/api/customers", {"name": "Buyer"})
        product = await _create(tenant, "/api/products", {"name": "Lamp", "price": 20})
        return customer["id"], product["id"]

    async def test_create_order(self, receiver: Receiver, execution: Execution) -> None:
        customer_id, product_id = await self._customer_and_product(execution.tenant)
        payload = {"customer_id": customer_id, "items": [{"product_id": product_id, "quantity": 2}]}
        data = await _act(receiver, execution, "create_order", payload, "order.created")
        stored = await _read(execution.tenant, f"/api/orders/{data['id']}")
        assert (stored["status"], stored["total"], stored["customer_id"]) == (
            "pending",
            40.0,
            customer_id,
        )

    async def test_update_order_status(self, receiver: Receiver, execution: Execution) -> None:
        customer_id, product_id = await self._customer_and_product(execution.tenant)
        order = await _create(
            execution.tenant,
            "/api/orders",
            {"customer_id": customer_id, "items": [{"product_id": product_id, "quantity": 1}]},
        )
        payload = {"id": order["id"], "status": "paid"}
        await _act(receiver, execution, "update_order_status", payload, "order.status_changed")
        stored = await _read(execution.tenant, f"/api/orders/{order['id']}")
        assert stored["status"] == "paid"
        [event] = await receiver.caused_events(execution, "order.status_changed")
        assert (event["payload"]["from_status"], event["payload"]["status"]) == ("pending", "paid")


class TestNotificationActions:
    async def test_send_email(self, receiver: Receiver, execution: Execution) -> None:
        payload = {"to": "john@example.com", "subject": "Welcome John!", "template": "welcome"}
        data = await _act(receiver, execution, "send_email", payload, "notification.sent")
        stored = await _read(execution.tenant, f"/api/notifications/{data['id']}")
        assert (stored["channel"], stored["to"], stored["subject"]) == (
            "email",
            "john@example.com",
            "Welcome John!",
        )

    async def test_send_sms(self, receiver: Receiver, execution: Execution) -> None:
        payload = {"to": "+15551234567", "message": "Your order shipped!"}
        data = await _act(receiver, execution, "send_sms", payload, "notification.sent")
        stored = await _read(execution.tenant, f"/api/notifications/{data['id']}")
        assert (stored["channel"], stored["to"], stored["body"]) == (
            "sms",
            "+15551234567",
            "Your order shipped!",
        )

    @pytest.mark.parametrize("action_type", ["create_notification", "send_notification"])
    async def test_channel_notification_and_its_alias(
        self, receiver: Receiver, execution: Execution, action_type: str
    ) -> None:
        payload = {"channel": "slack", "message": "New order 42"}
        data = await _act(receiver, execution, action_type, payload, "notification.sent")
        stored = await _read(execution.tenant, f"/api/notifications/{data['id']}")
        assert (stored["channel"], stored["body"]) == ("slack", "New order 42")


class TestTaskActions:
    async def test_create_task(self, receiver: Receiver, execution: Execution) -> None:
        payload = {"title": "Follow up with Jane", "due_date": "2030-01-01T09:00:00Z"}
        data = await _act(receiver, execution, "create_task", payload, "task.created")
        stored = await _read(execution.tenant, f"/api/tasks/{data['id']}")
        assert stored["title"] == "Follow up with Jane"
        assert stored["due_date"].startswith("2030-01-01T09:00:00")

    async def test_assign_task(self, receiver: Receiver, execution: Execution) -> None:
        task = await _create(execution.tenant, "/api/tasks", {"title": "Call back"})
        payload = {"id": task["id"], "assignee": "sam"}
        data = await _act(receiver, execution, "assign_task", payload, "task.assigned")
        stored = await _read(execution.tenant, f"/api/tasks/{task['id']}")
        assert stored["assignee"] == data["assignee"] == "sam"


async def test_every_catalogue_action_is_covered() -> None:
    """A new action type in the catalogue needs its test here."""
    from bettercallsold.catalogue import ACTIONS

    covered = {
        "create_product",
        "update_product",
        "delete_product",
        "create_customer",
        "update_customer",
        "create_order",
        "update_order_status",
        "send_email",
        "send_sms",
        "create_notification",
        "create_task",
        "assign_task",
        "send_http_request",
    }
    assert set(ACTIONS) == covered


async def test_send_http_request_goes_through_the_address_guard(
    receiver: Receiver, execution: Execution
) -> None:
    """The session app refuses private addresses (the default): the call is refused before
    anything is sent, the action fails naming it, and the refusal is logged like any action.
    (A call that goes out: `tests/integration/automation/test_outside_calls.py`.)"""
    payload = {"method": "GET", "url": "http://127.0.0.1:9/internal"}
    [result] = await receiver.results(
        execution, [{"action_type": "send_http_request", "payload": payload, "step_id": "call"}]
    )
    assert result["success"] is False
    assert result["error"].startswith("send_http_request: GET http://127.0.0.1:9/internal")
    [row] = await receiver.log(execution)
    assert (row["action_type"], row["success"], row["payload"]) == (
        "send_http_request",
        False,
        payload,
    )
