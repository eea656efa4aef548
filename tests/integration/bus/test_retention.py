"""`bus:purge_history`: the outbox and its deliveries are kept `retention_days`, then purged."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bettercallsold.bus import repository
from bettercallsold.bus.models import (
    PlatformEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
)
from bettercallsold.bus.outbox import new_event_id
from bettercallsold.bus.tasks import PURGE_BATCH, purge_history, run_purge
from bettercallsold.runtime import Runtime
from bettercallsold.types import utcnow
from tests.integration.bus.conftest import eventually
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.jobs import job_context, periodic_task


@dataclass(frozen=True)
class StoredEvent:
    id: str
    delivery_ids: list[uuid.UUID]


MakeEvent = Callable[..., Awaitable[StoredEvent]]


@pytest.fixture
def make_event(runtime: Runtime) -> MakeEvent:
    """Factory: a platform event of `tenant` with one delivery, and one attempt of it, per
    status given; `days_old` days old (its `occurred_at` moved back by an UPDATE). Written
    straight to the tables: no delivery job is deferred."""

    async def make(tenant: TenantHandle, *statuses: str, days_old: float = 0) -> StoredEvent:
        event = PlatformEvent(
            id=new_event_id(),
            tenant_id=tenant.tenant_id,
            event_type="customer.created",
            payload={"customer_id": str(uuid.uuid4())},
        )
        subscription = WebhookSubscription(
            id=uuid.uuid4(),
            tenant_id=tenant.tenant_id,
            url="https://hooks.example.com/retention",
            event_types=["*"],
            secret="whsec_" + uuid.uuid4().hex,
        )
        deliveries = [
            WebhookDelivery(
                id=uuid.uuid4(),
                tenant_id=tenant.tenant_id,
                subscription_id=subscription.id,
                event_id=event.id,
                event_type=event.event_type,
                status=status,
                attempt_count=1,
            )
            for status in statuses
        ]
        attempts = [
            WebhookDeliveryAttempt(
                delivery_id=delivery.id, number=1, status_code=500, duration_ms=3, at=utcnow()
            )
            for delivery in deliveries
        ]
        async with runtime.sessionmaker() as session, session.begin():
            session.add_all([event, subscription])
            await session.flush()
            session.add_all(deliveries)
            await session.flush()
            session.add_all(attempts)
            await session.flush()
            await session.execute(
                text(
                    "UPDATE platform_events SET occurred_at = now() - make_interval(days => :d)"
                    " WHERE id = :id"
                ),
                {"d": days_old, "id": event.id},
            )
        return StoredEvent(event.id, [delivery.id for delivery in deliveries])

    return make


async def _remaining(runtime: Runtime, table: str, column: str, ids: Sequence[object]) -> int:
    async with runtime.engine.connect() as connection:
        found = await connection.scalar(
            text(f"SELECT count(*) FROM {table} WHERE {column} = ANY(:ids)"), {"ids": list(ids)}
        )
    return int(found or 0)


async def _events(runtime: Runtime, events: Sequence[StoredEvent]) -> int:
    return await _remaining(runtime, "platform_events", "id", [event.id for event in events])


async def _deliveries(runtime: Runtime, events: Sequence[StoredEvent]) -> tuple[int, int]:
    """How many of the events' deliveries, and of their attempts, are left."""
    ids = [delivery for event in events for delivery in event.delivery_ids]
    return (
        await _remaining(runtime, "webhook_deliveries", "id", ids),
        await _remaining(runtime, "webhook_delivery_attempts", "delivery_id", ids),
    )


def _deliveries_total(response: httpx.Response) -> dict[str, float]:
    """`bcs_deliveries_total` by outcome, from a /metrics answer."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        if family.name == "bcs_deliveries":
            for sample in family.samples:
                if sample.name == "bcs_deliveries_total":
                    found[sample.labels["outcome"]] = sample.value
    return found


def _old(runtime: Runtime) -> int:
    return runtime.settings.retention_days + 1


class TestRunPurge:
    async def test_old_settled_events_go_with_their_deliveries_and_attempts(
        self, runtime: Runtime, make_event: MakeEvent, tenant: TenantHandle
    ) -> None:
        settled = await make_event(tenant, "delivered", "dead", days_old=_old(runtime))
        unsubscribed = await make_event(tenant, days_old=_old(runtime))
        assert await _deliveries(runtime, [settled]) == (2, 2)

        assert await run_purge(runtime) >= 2

        assert await _events(runtime, [settled, unsubscribed]) == 0
        assert await _deliveries(runtime, [settled]) == (0, 0)

    @pytest.mark.parametrize("unsent", ["pending", "failed"])
    async def test_an_old_event_with_a_delivery_still_to_send_is_kept(
        self, runtime: Runtime, make_event: MakeEvent, tenant: TenantHandle, unsent: str
    ) -> None:
        kept = await make_event(tenant, "delivered", unsent, days_old=_old(runtime))
        await run_purge(runtime)
        assert await _events(runtime, [kept]) == 1
        assert await _deliveries(runtime, [kept]) == (2, 2)

    async def test_an_event_younger_than_the_retention_is_kept(
        self, runtime: Runtime, make_event: MakeEvent, tenant: TenantHandle
    ) -> None:
        recent = await make_event(tenant, "delivered", days_old=runtime.settings.retention_days - 1)
        await run_purge(runtime)
        assert await _events(runtime, [recent]) == 1
        assert await _deliveries(runtime, [recent]) == (1, 1)

    async def test_every_tenants_events_are_purged(
        self, runtime: Runtime, make_event: MakeEvent, make_tenant: MakeTenant
    ) -> None:
        events = [
            await make_event(await make_tenant(), "delivered", days_old=_old(runtime))
            for _ in range(3)
        ]
        await run_purge(runtime)
        assert await _events(runtime, events) == 0

    async def test_batches_repeat_until_one_is_short(
        self, runtime: Runtime, make_event: MakeEvent, tenant: TenantHandle
    ) -> None:
        events = [await make_event(tenant, "delivered", days_old=_old(runtime)) for _ in range(5)]
        assert await run_purge(runtime, batch=2) >= 5
        assert await _events(runtime, events) == 0

    async def test_the_deliveries_counter_never_goes_down(
        self,
        runtime: Runtime,
        make_event: MakeEvent,
        tenant: TenantHandle,
        client: httpx.AsyncClient,
    ) -> None:
        """`bcs_deliveries_total` counts the purged deliveries too: a Prometheus counter that
        drops reads as a restart, and `increase(...)` alerts would fire on every purge."""
        await make_event(tenant, "delivered", "dead", "dead", days_old=_old(runtime))
        before = _deliveries_total(await client.get("/metrics"))

        await run_purge(runtime)

        after = _deliveries_total(await client.get("/metrics"))
        assert after == before
        async with runtime.engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT status, count FROM webhook_purged_deliveries")
            )
            tally = {str(status): int(count) for status, count in rows}
        assert tally["delivered"] >= 1
        assert tally["dead"] >= 2

    async def test_deleting_a_subscription_keeps_the_settled_counts(
        self,
        runtime: Runtime,
        make_event: MakeEvent,
        tenant: TenantHandle,
        client: httpx.AsyncClient,
    ) -> None:
        """A subscription's deliveries go with it; `delivered` and `dead` stay counted,
        `failed` (deliveries in that state now) drops."""
        event = await make_event(tenant, "delivered", "dead", "failed")
        async with runtime.engine.connect() as connection:
            subscription = await connection.scalar(
                text("SELECT subscription_id FROM webhook_deliveries WHERE id = :id"),
                {"id": event.delivery_ids[0]},
            )
        before = _deliveries_total(await client.get("/metrics"))

        response = await tenant.http.delete(f"/api/webhooks/subscriptions/{subscription}")

        assert response.status_code == 204
        assert await _deliveries(runtime, [event]) == (0, 0)
        after = _deliveries_total(await client.get("/metrics"))
        assert (after["delivered"], after["dead"]) == (before["delivered"], before["dead"])
        assert after.get("failed", 0) == before["failed"] - 1


class TestDeleteSettledEvents:
    async def test_one_statement_deletes_at_most_a_batch(
        self, runtime: Runtime, make_event: MakeEvent, tenant: TenantHandle
    ) -> None:
        await run_purge(runtime)  # no other test's old event is left to take our places
        events = [await make_event(tenant, "delivered", days_old=_old(runtime)) for _ in range(3)]
        cutoff = utcnow() - timedelta(days=runtime.settings.retention_days)
        async with runtime.sessionmaker() as session, session.begin():
            assert await repository.delete_settled_events(session, cutoff, 2) == 2
        assert await _events(runtime, events) == 1
        await run_purge(runtime)

    async def test_a_redelivery_committed_while_it_waits_keeps_the_event(
        self, runtime: Runtime, make_event: MakeEvent, tenant: TenantHandle
    ) -> None:
        """`dead` when the purge starts, `pending` (a redelivery, holding the delivery's row
        lock) when it commits: the purge waits for the lock, sees `pending`, keeps the event."""
        event = await make_event(tenant, "dead", days_old=_old(runtime))
        cutoff = utcnow() - timedelta(days=runtime.settings.retention_days)

        async def purge() -> int:
            async with runtime.sessionmaker() as session, session.begin():
                return await repository.delete_settled_events(session, cutoff, PURGE_BATCH)

        async def purge_waits() -> bool:
            async with runtime.engine.connect() as connection:
                waiting = await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock'"
                    )
                )
            return bool(waiting)

        async with runtime.engine.connect() as redelivery:
            transaction = await redelivery.begin()
            await redelivery.execute(
                text("UPDATE webhook_deliveries SET status = 'pending' WHERE id = :id"),
                {"id": event.delivery_ids[0]},
            )
            purging = asyncio.create_task(purge())
            await eventually(purge_waits, seconds=10, what="the purge to wait for the row lock")
            await transaction.commit()
        await purging

        assert await _events(runtime, [event]) == 1
        assert await _deliveries(runtime, [event]) == (1, 1)


class TestPeriodicTask:
    async def test_the_task_purges_with_the_workers_runtime(
        self, runtime: Runtime, make_event: MakeEvent, tenant: TenantHandle
    ) -> None:
        old = await make_event(tenant, "delivered", days_old=_old(runtime))
        context = job_context(runtime, "bus:purge_history", queueing_lock="bus:purge_history")
        await purge_history.func(context, timestamp=0)
        assert await _events(runtime, [old]) == 0

    def test_the_purge_runs_hourly_on_the_maintenance_queue(self, runtime: Runtime) -> None:
        periodic = periodic_task(runtime, "bus:purge_history")
        assert periodic.cron == "41 * * * *"
        assert periodic.task.queue == "maintenance"
        assert periodic.task.queueing_lock == "bus:purge_history"
