"""The URL guard again at delivery time, on the shared app (private URLs not allowed)."""

from __future__ import annotations

import uuid

from bettercallsold.bus.delivery import DeliveryEnv, run_delivery
from bettercallsold.runtime import Runtime
from tests.integration.bus.conftest import FakeDns
from tests.integration.conftest import TenantHandle


async def test_a_name_rebound_to_a_private_address_is_not_called(
    tenant: TenantHandle, runtime: Runtime, dns: FakeDns
) -> None:
    created = await tenant.http.post(
        "/api/webhooks/subscriptions",
        json={"url": "http://hooks.example.com/in", "event_types": ["customer.created"]},
    )
    assert created.status_code == 201, created.text
    subscription_id = created.json()["id"]
    try:
        dns.addresses["hooks.example.com"] = ["10.0.0.7"]  # the owner rebinds the name
        response = await tenant.http.post("/api/customers", json={"name": "Eve"})
        assert response.status_code == 201
        listed = await tenant.http.get(
            "/api/webhooks/deliveries", params={"subscription_id": subscription_id}
        )
        [delivery] = listed.json()["items"]

        status = await run_delivery(DeliveryEnv.from_runtime(runtime), uuid.UUID(delivery["id"]), 1)

        assert status == "dead"
        fetched = (await tenant.http.get(f"/api/webhooks/deliveries/{delivery['id']}")).json()
        [attempt] = fetched["attempts"]
        assert attempt["status_code"] is None
        assert attempt["error"] == (
            "not sent: hooks.example.com resolves to 10.0.0.7, a private address, "
            "which webhooks may not call"
        )
    finally:
        await tenant.http.delete(f"/api/webhooks/subscriptions/{subscription_id}")
