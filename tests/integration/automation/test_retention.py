"""`automation:purge_received_events`: the `webhook-id` record is kept `retention_days` once
processed, then purged; executions are never purged."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bettercallsold.automation import repository
from bettercallsold.automation.tasks import purge_received_events, run_purge
from bettercallsold.runtime import Runtime
from bettercallsold.types import utcnow
from tests.integration.automation.conftest import MakeFlow, SendEvent, executions_for_event
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.jobs import job_context, periodic_task

CUSTOMER = {"customer_id": "c-1", "name": "John Doe", "email": "john@example.com"}

Receive = Callable[..., Awaitable[str]]


@pytest.fixture
def receive(runtime: Runtime, send_event: SendEvent) -> Receive:
    """Factory: a signed webhook for `tenant` through the intake; its row then made `days_old`
    days old (and unprocessed, when asked) by an UPDATE. Returns the event id."""

    async def make(
        tenant: TenantHandle, *, days_old: float = 0, processed: bool = True, **options: Any
    ) -> str:
        response = await send_event(tenant.tenant_id, "customer.created", CUSTOMER, **options)
        assert response.status_code == 202, response.text
        event_id: str = response.json()["event_id"]
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "UPDATE automation_received_events"
                    " SET received_at = now() - make_interval(days => :d),"
                    " processed_at = CASE WHEN :processed THEN processed_at END"
                    " WHERE event_id = :e"
                ),
                {"d": days_old, "processed": processed, "e": event_id},
            )
        return event_id

    return make


async def _remaining(runtime: Runtime, event_ids: Sequence[str]) -> int:
    async with runtime.engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT count(*) FROM automation_received_events WHERE event_id = ANY(:ids)"),
            {"ids": list(event_ids)},
        )
    return int(found or 0)


def _old(runtime: Runtime) -> int:
    return runtime.settings.retention_days + 1


class TestRunPurge:
    async def test_old_processed_events_are_purged_and_their_executions_kept(
        self, runtime: Runtime, receive: Receive, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        old = await receive(tenant, days_old=_old(runtime))
        assert len(await executions_for_event(runtime, old)) == 1

        assert await run_purge(runtime) >= 1

        assert await _remaining(runtime, [old]) == 0
        assert len(await executions_for_event(runtime, old)) == 1

    async def test_an_event_younger_than_the_retention_is_kept(
        self, runtime: Runtime, receive: Receive, tenant: TenantHandle
    ) -> None:
        recent = await receive(tenant, days_old=runtime.settings.retention_days - 1)
        await run_purge(runtime)
        assert await _remaining(runtime, [recent]) == 1

    async def test_every_tenants_events_are_purged(
        self, runtime: Runtime, receive: Receive, make_tenant: MakeTenant
    ) -> None:
        events = [await receive(await make_tenant(), days_old=_old(runtime)) for _ in range(3)]
        await run_purge(runtime)
        assert await _remaining(runtime, events) == 0

    async def test_batches_repeat_until_one_is_short(
        self, runtime: Runtime, receive: Receive, tenant: TenantHandle
    ) -> None:
        events = [await receive(tenant, days_old=_old(runtime)) for _ in range(5)]
        assert await run_purge(runtime, batch=2) >= 5
        assert await _remaining(runtime, events) == 0

    async def test_a_duplicate_after_the_purge_starts_no_flow_twice(
        self, runtime: Runtime, receive: Receive, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        webhook_id = f"msg_{uuid.uuid4().hex}"
        event_id = await receive(tenant, days_old=_old(runtime), webhook_id=webhook_id)
        await run_purge(runtime)
        assert await _remaining(runtime, [event_id]) == 0

        await receive(tenant, webhook_id=webhook_id, event_id=event_id)

        assert await _remaining(runtime, [event_id]) == 1
        assert len(await executions_for_event(runtime, event_id)) == 1


class TestDeleteProcessedReceivedEvents:
    async def test_one_statement_deletes_at_most_a_batch(
        self, runtime: Runtime, receive: Receive, tenant: TenantHandle
    ) -> None:
        await run_purge(runtime)  # no other test's old event is left to take our places
        events = [await receive(tenant, days_old=_old(runtime)) for _ in range(3)]
        cutoff = utcnow() - timedelta(days=runtime.settings.retention_days)
        async with runtime.sessionmaker() as session, session.begin():
            assert await repository.delete_processed_received_events(session, cutoff, 2) == 2
        assert await _remaining(runtime, events) == 1
        await run_purge(runtime)


class TestPeriodicTask:
    async def test_the_task_purges_with_the_workers_runtime(
        self, runtime: Runtime, receive: Receive, tenant: TenantHandle
    ) -> None:
        old = await receive(tenant, days_old=_old(runtime))
        context = job_context(
            runtime,
            "automation:purge_received_events",
            queueing_lock="automation:purge_received_events",
        )
        await purge_received_events.func(context, timestamp=0)
        assert await _remaining(runtime, [old]) == 0

    def test_the_purge_runs_hourly_on_the_maintenance_queue(self, runtime: Runtime) -> None:
        periodic = periodic_task(runtime, "automation:purge_received_events")
        assert periodic.cron == "47 * * * *"
        assert periodic.task.queue == "maintenance"
        assert periodic.task.queueing_lock == "automation:purge_received_events"
