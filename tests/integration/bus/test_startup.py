"""Process start-up: the operator's automation subscription, and the registered tasks."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import delete, select, text

from bettercallsold.automation.flows import create_flow
from bettercallsold.automation.schemas import FlowCreate
from bettercallsold.bus import repository
from bettercallsold.bus.interests import interests_of
from bettercallsold.bus.models import WebhookDelivery, WebhookSubscription
from bettercallsold.bus.outbox import record_event
from bettercallsold.bus.startup import PLUGIN_SUBSCRIPTION_KEY, on_startup
from bettercallsold.db.engine import make_sessionmaker
from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from bettercallsold.types import TenantContext
from tests.integration.automation.conftest import welcome_flow
from tests.integration.conftest import TenantHandle


async def _record_over_http(runtime: Runtime, tenant: TenantHandle, event_type: str) -> None:
    """A platform write's event as a process without the in-process intake records it (the
    plugin elsewhere, `BCS_PLUGIN_URL`)."""
    async with make_sessionmaker(runtime.engine)() as session, session.begin():
        await record_event(session, TenantContext(tenant.tenant_id), event_type, {})


async def _plugin_deliveries(runtime: Runtime, tenant: TenantHandle) -> list[WebhookDelivery]:
    [plugin] = await _system_subscriptions(runtime, PLUGIN_SUBSCRIPTION_KEY)
    async with runtime.sessionmaker() as session:
        statement = select(WebhookDelivery).where(
            WebhookDelivery.subscription_id == plugin.id,
            WebhookDelivery.tenant_id == tenant.tenant_id,
        )
        return list((await session.scalars(statement)).all())


async def _system_subscriptions(runtime: Runtime, key: str) -> list[WebhookSubscription]:
    async with runtime.sessionmaker() as session:
        statement = select(WebhookSubscription).where(WebhookSubscription.system_key == key)
        return list((await session.scalars(statement)).all())


class TestPluginSubscription:
    async def test_exists_for_every_tenant_with_the_settings(
        self, runtime: Runtime, settings: Settings
    ) -> None:
        [plugin] = await _system_subscriptions(runtime, PLUGIN_SUBSCRIPTION_KEY)
        assert plugin.tenant_id is None
        assert plugin.url == settings.plugin_webhook_url()
        assert plugin.url == "http://bcs.internal/plugins/automation/webhook"
        assert settings.webhook_secret is not None
        assert plugin.secret == settings.webhook_secret.get_secret_value()
        assert plugin.event_types == ["*"]
        assert plugin.status == "active"

    async def test_over_http_it_receives_the_events_a_flow_wants(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        flow = {**welcome_flow(), "name": "Welcome"}
        assert (await tenant.http.post("/plugins/automation/flows", json=flow)).status_code == 201
        await _record_over_http(runtime, tenant, "customer.created")
        await _record_over_http(runtime, tenant, "task.created")  # no flow wants it
        [delivery] = await _plugin_deliveries(runtime, tenant)
        assert delivery.event_type == "customer.created"

    async def test_over_http_its_filter_follows_the_flows(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        async def delivered(event_type: str) -> bool:
            before = len(await _plugin_deliveries(runtime, tenant))
            await _record_over_http(runtime, tenant, event_type)
            return len(await _plugin_deliveries(runtime, tenant)) > before

        assert not await delivered("task.created")
        body = {**welcome_flow(), "name": "On tasks", "trigger_event": "task.created"}
        created = await tenant.http.post("/plugins/automation/flows", json=body)
        assert created.status_code == 201, created.text
        path = f"/plugins/automation/flows/{created.json()['id']}"
        assert await delivered("task.created")
        assert (await tenant.http.put(path, json={"status": "paused"})).status_code == 200
        assert not await delivered("task.created")
        assert (await tenant.http.put(path, json={"status": "active"})).status_code == 200
        assert await delivered("task.created")
        moved = await tenant.http.put(path, json={"trigger_event": "task.assigned"})
        assert moved.status_code == 200
        assert not await delivered("task.created")
        assert await delivered("task.assigned")
        assert (await tenant.http.delete(path)).status_code in (200, 204)
        assert not await delivered("task.assigned")

    async def test_concurrent_flow_saves_of_one_tenant_lose_no_interest(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        types = [
            "task.created",
            "task.assigned",
            "order.created",
            "order.status_changed",
            "product.created",
            "product.updated",
            "product.deleted",
            "customer.updated",
        ]

        async def save(event_type: str) -> None:
            body = FlowCreate.model_validate(
                {**welcome_flow(), "name": event_type, "trigger_event": event_type}
            )
            async with runtime.sessionmaker() as session, session.begin():
                await create_flow(session, tenant.tenant_id, body)

        await asyncio.gather(*(save(event_type) for event_type in types))
        async with runtime.sessionmaker() as session:
            wanted = await interests_of(session, PLUGIN_SUBSCRIPTION_KEY, tenant.tenant_id)
        assert wanted == set(types)

    async def test_in_process_it_gets_no_delivery_and_its_intake_the_event(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        flow = {**welcome_flow(), "name": "Welcome"}
        assert (await tenant.http.post("/plugins/automation/flows", json=flow)).status_code == 201
        response = await tenant.http.post("/api/customers", json={"name": "Ann", "email": "a@b.c"})
        assert response.status_code == 201
        assert await _plugin_deliveries(runtime, tenant) == []
        async with runtime.engine.connect() as connection:
            started = (
                await connection.execute(
                    text(
                        "SELECT status, trigger_data->>'customer_id' FROM automation_executions"
                        " WHERE tenant_id = :t"
                    ),
                    {"t": tenant.tenant_id},
                )
            ).all()
        assert [tuple(row) for row in started] == [("running", response.json()["id"])]

    async def test_a_restart_is_idempotent(self, runtime: Runtime) -> None:
        before = await _system_subscriptions(runtime, PLUGIN_SUBSCRIPTION_KEY)
        await on_startup(runtime)
        after = await _system_subscriptions(runtime, PLUGIN_SUBSCRIPTION_KEY)
        assert [(s.id, s.updated_at) for s in after] == [(s.id, s.updated_at) for s in before]


class TestUpsertSystemSubscription:
    async def test_concurrent_starts_create_one_and_new_settings_update_it(
        self, runtime: Runtime
    ) -> None:
        key = f"test-{uuid.uuid4().hex[:8]}"

        async def start(url: str, secret: str) -> None:
            async with runtime.sessionmaker() as session, session.begin():
                await repository.upsert_system_subscription(session, key, url, secret, ["*"])

        try:
            await asyncio.gather(*(start("http://a.test/hook", "whsec_AAAA") for _ in range(8)))
            [created] = await _system_subscriptions(runtime, key)
            await start("http://b.test/hook", "whsec_BBBB")
            [updated] = await _system_subscriptions(runtime, key)
            assert updated.id == created.id
            assert (updated.url, updated.secret) == ("http://b.test/hook", "whsec_BBBB")
        finally:
            async with runtime.sessionmaker() as session, session.begin():
                await session.execute(
                    delete(WebhookSubscription).where(WebhookSubscription.system_key == key)
                )


class TestRegisteredTasks:
    def test_the_delivery_task_is_registered(self, runtime: Runtime) -> None:
        assert runtime.job_app.tasks["bus:deliver"].queue == "deliveries"
