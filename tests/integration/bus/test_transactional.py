"""The outbox: deliveries commit with the platform write, or not at all; a subscriber that is
down never holds the platform up, and its events wait for it."""

from __future__ import annotations

from sqlalchemy import text

from bettercallsold.bus.outbox import record_event
from bettercallsold.types import TenantContext
from tests.integration.bus.conftest import BusTenant, MakeBusTenant, StartWorker, eventually
from tests.integration.bus.receiver import Receiver, free_port

_JOBS_OF = text(
    "SELECT count(*) FROM procrastinate_jobs "
    "WHERE task_name = 'bus:deliver' AND queue_name = 'deliveries' "
    "AND args->>'delivery_id' IN (SELECT id::text FROM webhook_deliveries "
    "WHERE event_id = :event AND subscription_id = :subscription)"
)

_LAST_JOB = text("SELECT coalesce(max(id), 0) FROM procrastinate_jobs")
_JOBS_AFTER = text(
    "SELECT count(*) FROM procrastinate_jobs WHERE id > :last AND task_name = 'bus:deliver'"
)


class TestCommit:
    async def test_a_committed_write_has_its_delivery_and_job_at_once(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        async with Receiver() as receiver:
            subscription = await bus_tenant.subscribe(receiver.url, ["product.created"])
            response = await bus_tenant.http.post(
                "/api/products", json={"name": "Lamp", "price": 30}
            )
            assert response.status_code == 201
            # Before any worker ran: the answer means the delivery and its job are stored.
            [delivery] = await bus_tenant.deliveries(subscription["id"])
            assert delivery["status"] == "pending"
            assert delivery["event_type"] == "product.created"
            async with bus_tenant.runtime.engine.connect() as connection:
                jobs = await connection.scalar(
                    _JOBS_OF, {"event": delivery["event_id"], "subscription": subscription["id"]}
                )
            assert jobs == 1
            async with start_worker():
                await receiver.wait_answers(1)

    async def test_a_rolled_back_write_never_delivers(self, bus_tenant: BusTenant) -> None:
        async with Receiver() as receiver:
            subscription = await bus_tenant.subscribe(receiver.url)
            async with bus_tenant.runtime.engine.connect() as connection:
                last_job = await connection.scalar(_LAST_JOB)
            async with bus_tenant.runtime.sessionmaker() as session:
                event = await record_event(
                    session,
                    TenantContext(tenant_id=bus_tenant.tenant_id),
                    "customer.created",
                    {"customer_id": "c1", "name": "Ghost"},
                )
                # Inside the transaction the delivery and its job exist...
                mine = {"event": event.event_id, "subscription": subscription["id"]}
                assert await session.scalar(_JOBS_OF, mine) == 1
                await session.rollback()
            # ...and vanish with it: no delivery, and no job deferred since.
            assert await bus_tenant.deliveries(subscription["id"]) == []
            async with bus_tenant.runtime.engine.connect() as connection:
                newer = await connection.scalar(_JOBS_AFTER, {"last": last_job})
            assert newer == 0
            assert receiver.requests == []


class TestSubscriberDown:
    async def test_the_platform_answers_and_events_flow_when_it_returns(
        self, bus_tenant: BusTenant, start_worker: StartWorker
    ) -> None:
        port = free_port()
        subscription = await bus_tenant.subscribe(f"http://127.0.0.1:{port}/hook")
        async with start_worker():
            for index in range(3):
                response = await bus_tenant.http.post(
                    "/api/customers", json={"name": f"Buyer {index}"}
                )
                assert response.status_code == 201

            async def retrying() -> bool:
                counts = await bus_tenant.status_counts(subscription["id"])
                return counts.get("failed", 0) == 3

            await eventually(retrying, what="the first failed attempts")
            async with Receiver(port=port) as receiver:

                async def delivered() -> bool:
                    counts = await bus_tenant.status_counts(subscription["id"])
                    return counts == {"delivered": 3}

                await eventually(delivered, what="the waiting events to flow")
        assert len(receiver.delivered_ids()) == 3


class TestRouting:
    async def test_a_subscription_gets_its_tenants_matching_events_only(
        self, make_bus_tenant: MakeBusTenant, start_worker: StartWorker
    ) -> None:
        owner, other = await make_bus_tenant(), await make_bus_tenant()
        async with Receiver() as receiver:
            orders_only = await owner.subscribe(receiver.url, ["task.created"])
            everything = await owner.subscribe(receiver.url, ["*"])
            await other.emit(2)  # another tenant's events
            await owner.emit(2)  # customer.created: not a task
            await owner.emit(1, event_type="task.created")
            assert len(await owner.deliveries(everything["id"])) == 3
            [task_delivery] = await owner.deliveries(orders_only["id"])
            assert task_delivery["event_type"] == "task.created"

            # The other tenant sees none of it, and cannot touch it.
            listed = (await other.http.get("/api/webhooks/deliveries")).json()
            assert listed["items"] == []
            path = f"/api/webhooks/deliveries/{task_delivery['id']}"
            assert (await other.http.get(path)).status_code == 404
            assert (await other.http.post(f"{path}/redeliver")).status_code == 404
            assert (await owner.http.get(path)).status_code == 200
            # A pending delivery is already queued.
            assert (await owner.http.post(f"{path}/redeliver")).status_code == 409

            async with start_worker():
                await receiver.wait_answers(4)
            delivered = await owner.deliveries(everything["id"], status="delivered")
            assert len(delivered) == 3
