"""`POST /api/webhooks/subscriptions/{id}/test`: a signed `webhook.test` event to one subscriber,
whatever its event types, delivered like any other."""

from __future__ import annotations

from standardwebhooks import Webhook

from tests.integration.bus.conftest import BusTenant, StartWorker
from tests.integration.bus.receiver import Receiver

SUBSCRIPTIONS = "/api/webhooks/subscriptions"


async def test_a_test_event_reaches_only_that_subscriber_signed(
    bus_tenant: BusTenant, start_worker: StartWorker
) -> None:
    async with Receiver() as chosen, Receiver() as other, start_worker():
        subscription = await bus_tenant.subscribe(chosen.url, ["order.created"])
        await bus_tenant.subscribe(other.url, ["*"])
        sent = await bus_tenant.http.post(f"{SUBSCRIPTIONS}/{subscription['id']}/test")
        assert sent.status_code == 202, sent.text
        delivery = sent.json()
        assert (delivery["event_type"], delivery["subscription_id"]) == (
            "webhook.test",
            subscription["id"],
        )
        await chosen.wait_answers(1)
    envelope = Webhook(subscription["secret"]).verify(
        chosen.requests[0].body, chosen.requests[0].headers
    )
    assert envelope["event_type"] == "webhook.test"
    assert envelope["payload"]["subscription_id"] == subscription["id"]
    assert other.requests == []
    after = await bus_tenant.http.get(f"/api/webhooks/deliveries/{delivery['id']}")
    assert after.json()["status"] == "delivered"


async def test_a_paused_or_unknown_subscription_is_refused(bus_tenant: BusTenant) -> None:
    async with Receiver() as receiver:
        subscription = await bus_tenant.subscribe(receiver.url, ["*"])
    path = f"{SUBSCRIPTIONS}/{subscription['id']}"
    await bus_tenant.http.put(path, json={"status": "paused"})
    assert (await bus_tenant.http.post(f"{path}/test")).status_code == 409
    unknown = f"{SUBSCRIPTIONS}/00000000-0000-4000-8000-000000000000/test"
    assert (await bus_tenant.http.post(unknown)).status_code == 404
