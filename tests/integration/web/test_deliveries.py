"""The deliveries page: attempts listed, dead deliveries sent again (`web/activity.py`)."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from sqlalchemy import text

from bettercallsold.runtime import Runtime
from tests.integration.conftest import TenantHandle

HTMX = {"HX-Request": "true"}


async def _dead_delivery(tenant: TenantHandle, runtime: Runtime) -> str:
    """A delivery to a subscriber, marked dead (as after its last failed attempt)."""
    subscription = await tenant.http.post(
        "/api/webhooks/subscriptions",
        json={"url": "https://93.184.216.34/hook", "event_types": ["customer.created"]},
    )
    assert subscription.status_code == 201, subscription.text
    subscription_id = subscription.json()["id"]
    created = await tenant.http.post("/api/customers", json={"name": "Ada"})
    assert created.status_code == 201
    for _ in range(50):
        listed = await tenant.http.get(
            "/api/webhooks/deliveries", params={"subscription_id": subscription_id}
        )
        items = listed.json()["items"]
        if items:
            break
        await asyncio.sleep(0.1)
    assert items, "the event was fanned out to the subscription"
    delivery_id: str = items[0]["id"]
    async with runtime.engine.begin() as connection:
        await connection.execute(
            text("UPDATE webhook_deliveries SET status = 'dead' WHERE id = :id"),
            {"id": uuid.UUID(delivery_id)},
        )
    return delivery_id


class TestDeliveries:
    async def test_a_dead_delivery_can_be_sent_again(
        self,
        logged_in: tuple[httpx.AsyncClient, str],
        tenant: TenantHandle,
        runtime: Runtime,
    ) -> None:
        http, csrf = logged_in
        delivery_id = await _dead_delivery(tenant, runtime)
        page = await http.get("/deliveries?status=dead")
        assert f'hx-post="/deliveries/{delivery_id}/redeliver"' in page.text
        answer = await http.post(
            f"/deliveries/{delivery_id}/redeliver", headers={**HTMX, "X-CSRF-Token": csrf}
        )
        assert answer.status_code == 200
        assert "queued again" in answer.text
        again = (await tenant.http.get(f"/api/webhooks/deliveries/{delivery_id}")).json()
        assert again["status"] != "dead"

    async def test_redelivery_needs_the_csrf_token(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        answer = await http.post(f"/deliveries/{uuid.uuid4()}/redeliver", headers=HTMX)
        assert answer.status_code == 403
