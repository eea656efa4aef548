"""Delivery against real local HTTP receivers: signature, retries, dead and redelivery."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import uuid
from collections import Counter

import httpx
import pytest
from sqlalchemy import delete, select
from standardwebhooks import Webhook

from bettercallsold.bus import repository
from bettercallsold.bus.delivery import DeliveryEnv, run_delivery
from bettercallsold.bus.models import WebhookDelivery, WebhookSubscription
from bettercallsold.bus.signing import new_secret
from tests.integration.bus.conftest import BusTenant, StartWorker, eventually
from tests.integration.bus.receiver import Receiver, Reply, Request, free_port


class TestSignedDelivery:
    async def test_the_signature_verifies_with_the_reference_library(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        async with Receiver() as receiver, start_worker():
            subscription = await bus_tenant.subscribe(receiver.url, ["customer.created"])
            created = await bus_tenant.http.post(
                "/api/customers", json={"name": "John Doe", "email": "john@example.com"}
            )
            assert created.status_code == 201, created.text
            await receiver.wait_answers(1)

        request = receiver.requests[0]
        envelope = Webhook(subscription["secret"]).verify(request.body, request.headers)
        assert envelope["event_type"] == "customer.created"
        assert envelope["tenant_id"] == str(bus_tenant.tenant_id)
        assert envelope["payload"]["customer_id"] == created.json()["id"]
        assert envelope["payload"]["email"] == "john@example.com"
        assert envelope["causation"] == {"flow_execution_id": None, "depth": 0}
        assert request.headers["content-type"] == "application/json"

        [delivery] = await bus_tenant.deliveries(subscription["id"])
        assert request.webhook_id == delivery["id"]
        assert delivery["event_id"] == envelope["event_id"]
        assert delivery["status"] == "delivered"
        [attempt] = delivery["attempts"]
        assert attempt["status_code"] == 200
        assert attempt["error"] is None
        assert attempt["duration_ms"] >= 0


class TestRetries:
    async def test_three_failures_then_success_deliver_once_with_4_attempts(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        seen: Counter[str] = Counter()

        async def flaky(request: Request) -> Reply:
            seen[request.webhook_id] += 1
            return Reply(200) if seen[request.webhook_id] > 3 else Reply(503, body=b"busy")

        async with Receiver(flaky) as receiver, start_worker():
            subscription = await bus_tenant.subscribe(receiver.url)
            await bus_tenant.emit(1)
            await receiver.wait_answers(4)

            async def settled() -> bool:
                return await bus_tenant.status_counts(subscription["id"]) == {"delivered": 1}

            await eventually(settled, what="the delivery to settle")

        [delivery] = await bus_tenant.deliveries(subscription["id"])
        assert receiver.delivered_ids() == Counter({delivery["id"]: 1})
        assert {request.webhook_id for request in receiver.requests} == {delivery["id"]}
        assert delivery["attempt_count"] == 4
        assert [a["status_code"] for a in delivery["attempts"]] == [503, 503, 503, 200]
        assert delivery["attempts"][0]["error"] == "HTTP 503 Service Unavailable: busy"
        # Standard Webhooks: the same id each time, a fresh timestamp and signature each time.
        assert len({request.headers["webhook-signature"] for request in receiver.requests}) >= 2

    async def test_down_past_the_last_attempt_is_dead_then_redelivery_lands(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        port = free_port()
        async with start_worker():
            subscription = await bus_tenant.subscribe(f"http://127.0.0.1:{port}/hook")
            await bus_tenant.emit(1)

            async def dead() -> bool:
                return await bus_tenant.status_counts(subscription["id"]) == {"dead": 1}

            await eventually(dead, what="the delivery to die")
            [delivery] = await bus_tenant.deliveries(subscription["id"])
            assert delivery["attempt_count"] == 5
            assert all(a["status_code"] is None for a in delivery["attempts"])
            assert delivery["last_error"] == f"could not connect to 127.0.0.1:{port}"
            assert delivery["next_attempt_at"] is None

            async with Receiver(port=port) as receiver:
                response = await bus_tenant.http.post(
                    f"/api/webhooks/deliveries/{delivery['id']}/redeliver"
                )
                assert response.status_code == 202, response.text
                assert response.json()["status"] == "pending"
                await receiver.wait_answers(1)

                async def delivered() -> bool:
                    return await bus_tenant.status_counts(subscription["id"]) == {"delivered": 1}

                await eventually(delivered, what="the redelivery")

        [delivery] = await bus_tenant.deliveries(subscription["id"])
        assert delivery["attempt_count"] == 6
        assert delivery["attempts"][-1]["status_code"] == 200
        assert receiver.requests[0].webhook_id == delivery["id"]

    async def test_a_client_error_is_dead_at_once(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        async def gone(request: Request) -> Reply:
            return Reply(410, body=b"no such hook")

        async with Receiver(gone) as receiver, start_worker():
            subscription = await bus_tenant.subscribe(receiver.url)
            await bus_tenant.emit(1)

            async def dead() -> bool:
                return await bus_tenant.status_counts(subscription["id"]) == {"dead": 1}

            await eventually(dead, what="the delivery to die")
        [delivery] = await bus_tenant.deliveries(subscription["id"], status="dead")
        assert delivery["attempt_count"] == 1
        assert delivery["last_error"] == "HTTP 410 Gone: no such hook"
        assert len(receiver.requests) == 1

    async def test_retry_after_is_honoured(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        async def throttled(request: Request) -> Reply:
            if len(receiver.requests) == 1:
                return Reply(429, headers={"retry-after": "1"})
            return Reply(204)

        async with Receiver(throttled) as receiver, start_worker():
            subscription = await bus_tenant.subscribe(receiver.url)
            await bus_tenant.emit(1)
            await receiver.wait_answers(2)

        first, second = receiver.requests
        # The short schedule alone would retry after 0.2 s.
        assert second.at - first.at >= 1.0
        [delivery] = await bus_tenant.deliveries(subscription["id"])
        assert [a["status_code"] for a in delivery["attempts"]] == [429, 204]

    async def test_a_timeout_is_recorded_and_retried(self, bus_tenant: BusTenant) -> None:
        release = asyncio.Event()

        async def hangs(request: Request) -> Reply:
            await release.wait()
            return Reply(200)

        async with Receiver(hangs) as receiver:
            subscription = await bus_tenant.subscribe(receiver.url)
            await bus_tenant.emit(1)
            [delivery] = await bus_tenant.deliveries(subscription["id"])
            env = dataclasses.replace(DeliveryEnv.from_runtime(bus_tenant.runtime), timeout=0.3)
            status = await run_delivery(env, uuid.UUID(delivery["id"]), 1)
            release.set()

        assert status == "failed"
        [delivery] = await bus_tenant.deliveries(subscription["id"])
        assert delivery["status"] == "failed"
        assert delivery["next_attempt_at"] is not None
        assert delivery["attempts"][0]["error"] == "timed out after 0.3 s"
        assert delivery["attempts"][0]["duration_ms"] >= 300
        # The job of version 1 is spent: running it again changes nothing.
        assert await run_delivery(env, uuid.UUID(delivery["id"]), 1) is None


class TestIsolation:
    async def test_a_slow_receiver_does_not_block_other_subscriptions(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        release = asyncio.Event()

        async def slow(request: Request) -> Reply:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(release.wait(), timeout=4.0)
            return Reply(200)

        async with (
            Receiver(slow) as slow_receiver,
            Receiver() as fast_receiver,
            start_worker(concurrency=4),
        ):
            slow_subscription = await bus_tenant.subscribe(slow_receiver.url)
            await bus_tenant.subscribe(fast_receiver.url)
            await bus_tenant.emit(3)
            await fast_receiver.wait_answers(3, seconds=3.5)
            assert len(slow_receiver.answers) == 0
            assert len(slow_receiver.requests) >= 1
            release.set()

            async def slow_done() -> bool:
                counts = await bus_tenant.status_counts(slow_subscription["id"])
                return counts == {"delivered": 3}

            await eventually(slow_done, what="the slow receiver's deliveries")

    async def test_a_paused_subscription_gets_nothing(self, bus_tenant: BusTenant) -> None:
        async with Receiver() as receiver:
            subscription = await bus_tenant.subscribe(receiver.url)
            paused = await bus_tenant.http.put(
                f"/api/webhooks/subscriptions/{subscription['id']}", json={"status": "paused"}
            )
            assert paused.json()["status"] == "paused"
            await bus_tenant.emit(2)
            assert await bus_tenant.deliveries(subscription["id"]) == []

    async def test_deliveries_waiting_when_paused_end_dead_unsent(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        async with Receiver() as receiver:
            subscription = await bus_tenant.subscribe(receiver.url)
            await bus_tenant.emit(1)
            await bus_tenant.http.put(
                f"/api/webhooks/subscriptions/{subscription['id']}", json={"status": "paused"}
            )
            async with start_worker():

                async def dead() -> bool:
                    return await bus_tenant.status_counts(subscription["id"]) == {"dead": 1}

                await eventually(dead, what="the paused delivery to end")
            [delivery] = await bus_tenant.deliveries(subscription["id"])
            assert delivery["last_error"] == "not sent: the subscription is paused"
            assert receiver.requests == []
            refused = await bus_tenant.http.post(
                f"/api/webhooks/deliveries/{delivery['id']}/redeliver"
            )
            assert refused.status_code == 409


@pytest.mark.parametrize("status_code", [500, 408])
async def test_the_receiver_sees_the_contract_body(
    bus_tenant: BusTenant, start_worker: StartWorker, status_code: int
) -> None:
    """Retried bodies are byte-identical: the event, not a re-rendering of the resource."""

    async def first_fails(request: Request) -> Reply:
        return Reply(status_code) if len(receiver.requests) == 1 else Reply(200)

    async with Receiver(first_fails) as receiver, start_worker():
        await bus_tenant.subscribe(receiver.url, ["product.created"])
        response = await bus_tenant.http.post("/api/products", json={"name": "Mug", "price": 9.5})
        assert response.status_code == 201
        await receiver.wait_answers(2)
    first, second = receiver.requests
    assert first.body == second.body
    body = json.loads(first.body)
    assert set(body) == {
        "event_id",
        "event_type",
        "occurred_at",
        "tenant_id",
        "payload",
        "causation",
    }
    assert body["payload"]["product_id"] == response.json()["id"]
    assert body["occurred_at"].endswith("Z")


class TestOperatorSubscription:
    async def test_an_in_process_receiver_that_raises_is_a_failed_attempt(
        self, bus_tenant: BusTenant
    ) -> None:
        """httpx's ASGITransport re-raises the app's errors; for the in-process plugin that is
        a failed attempt, retried like a 500, not a crashed job."""

        def explode(request: httpx.Request) -> httpx.Response:
            raise RuntimeError("plugin bug")

        runtime = bus_tenant.runtime
        key = f"test-{uuid.uuid4().hex[:8]}"
        async with runtime.sessionmaker() as session, session.begin():
            await repository.upsert_system_subscription(
                session, key, "http://plugin.internal/hook", new_secret(), ["task.created"]
            )
        try:
            await bus_tenant.emit(1, event_type="task.created")
            async with runtime.sessionmaker() as session:
                delivery_id = await session.scalar(
                    select(WebhookDelivery.id)
                    .join(WebhookSubscription)
                    .where(
                        WebhookSubscription.system_key == key,
                        WebhookDelivery.tenant_id == bus_tenant.tenant_id,
                    )
                )
            assert delivery_id is not None
            async with httpx.AsyncClient(transport=httpx.MockTransport(explode)) as http:
                env = dataclasses.replace(DeliveryEnv.from_runtime(runtime), http=http)
                assert await run_delivery(env, delivery_id, 1) == "failed"
            async with runtime.sessionmaker() as session:
                delivery = await session.get(WebhookDelivery, delivery_id)
            assert delivery is not None
            assert delivery.last_error == "the in-process receiver raised RuntimeError"
        finally:
            async with runtime.sessionmaker() as session, session.begin():
                await session.execute(
                    delete(WebhookSubscription).where(WebhookSubscription.system_key == key)
                )
