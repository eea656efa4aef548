"""A batch acts for its execution's tenant only, whatever its payloads name."""

from __future__ import annotations

import pytest

from tests.integration.receiver.conftest import Execution, MakeExecution, Receiver

pytestmark = pytest.mark.both_receiver_modes


async def test_an_execution_cannot_touch_another_tenants_product(
    receiver: Receiver, make_execution: MakeExecution
) -> None:
    tenant_a = await make_execution()
    tenant_b = await make_execution()
    created = await tenant_b.tenant.http.post("/api/products", json={"name": "B's", "price": 7})
    product = created.json()

    events = [
        {"action_type": "update_product", "payload": {"id": product["id"], "price": 0}},
        {"action_type": "delete_product", "payload": {"id": product["id"]}},
    ]
    updated, deleted = await receiver.results(tenant_a, events)

    for result in (updated, deleted):
        assert result["success"] is False
        assert "404" in result["error"]
    after = await tenant_b.tenant.http.get(f"/api/products/{product['id']}")
    assert after.status_code == 200
    assert after.json() == product
    assert await receiver.caused_events(tenant_a, "product.updated") == []


async def test_created_objects_belong_to_the_executions_tenant(
    receiver: Receiver, make_execution: MakeExecution
) -> None:
    execution: Execution = await make_execution()
    other = await make_execution()
    [result] = await receiver.results(
        execution, [{"action_type": "create_customer", "payload": {"name": "Mine"}}]
    )
    customer_id = result["data"]["id"]
    assert (await execution.tenant.http.get(f"/api/customers/{customer_id}")).status_code == 200
    assert (await other.tenant.http.get(f"/api/customers/{customer_id}")).status_code == 404
