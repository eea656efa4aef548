"""Bus fixtures: an app whose operator allows private URLs (the receivers listen on 127.0.0.1),
a short retry schedule, in-process workers, tenants on that app, and polling helpers.

The session's shared app keeps `webhook_allow_private_urls=False`; the SSRF tests use it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bettercallsold.app import create_app
from bettercallsold.bus.config import RESOLVER_KEY, RETRY_POLICY_KEY
from bettercallsold.bus.outbox import record_event
from bettercallsold.bus.retry_policy import RetryPolicy
from bettercallsold.bus.startup import PLUGIN_SUBSCRIPTION_KEY
from bettercallsold.jobs.context import worker_context
from bettercallsold.outbound import UnresolvableHost
from bettercallsold.runtime import Runtime
from bettercallsold.settings import INPROCESS_BASE_URL, Settings
from bettercallsold.tenancy.service import create_tenant
from bettercallsold.types import TenantContext

# 5 attempts, 0.2 s → 1 s apart: "dead" within about 3 s.
SHORT_POLICY = RetryPolicy(
    max_attempts=5, first_delay=0.2, factor=2, max_delay=1.0, jitter=0.1, max_retry_after=3
)


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float = 20.0, what: str = "condition"
) -> None:
    """Poll `check` until it holds; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(0.05)


class FakeDns:
    """A resolver answering from a table the test may change (to play DNS rebinding)."""

    def __init__(self) -> None:
        self.addresses: dict[str, list[str]] = {
            "hooks.example.com": ["93.184.216.34"],
            "other.example.com": ["2606:2800:220:1:248:1893:25c8:1946"],
            "intranet.example.com": ["10.20.30.40"],
            "split.example.com": ["93.184.216.34", "192.168.0.10"],
            "metadata.example.com": ["169.254.169.254"],
        }

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        del port
        if host not in self.addresses:
            raise UnresolvableHost(f"{host} does not resolve")
        return self.addresses[host]


@pytest.fixture
def dns(runtime: Runtime) -> Iterator[FakeDns]:
    """The session's shared app (private URLs refused) resolves names with a `FakeDns`."""
    fake = FakeDns()
    runtime.extras[RESOLVER_KEY] = fake
    yield fake
    del runtime.extras[RESOLVER_KEY]


@pytest.fixture(scope="session")
def bus_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allow_private_urls": True, "webhook_timeout_seconds": 5.0}
    )


@pytest.fixture(scope="session")
async def bus_app(bus_settings: Settings, runtime: Runtime) -> AsyncIterator[FastAPI]:
    """The whole app under `bus_settings`, sharing the session runtime's engine and job app
    (no second pool of connections); its in-process `http://bcs.internal` is this app."""
    application = create_app(bus_settings, run_worker=False)
    http = httpx.AsyncClient(
        mounts={
            INPROCESS_BASE_URL: httpx.ASGITransport(app=application, raise_app_exceptions=False)
        },
        timeout=httpx.Timeout(bus_settings.receiver_timeout_seconds, connect=5.0),
    )
    application.state.runtime = Runtime(
        settings=application.state.settings,
        database_url=runtime.database_url,
        engine=runtime.engine,
        sessionmaker=runtime.sessionmaker,
        http=http,
        job_app=runtime.job_app,
        extras={RETRY_POLICY_KEY: SHORT_POLICY},
    )
    yield application
    await http.aclose()


@pytest.fixture(scope="session")
def bus_runtime(bus_app: FastAPI) -> Runtime:
    found: Runtime = bus_app.state.runtime
    return found


@pytest.fixture
async def plugin_paused(runtime: Runtime) -> AsyncIterator[None]:
    """The operator's automation subscription paused during one test: for the load tests of
    the bus itself, where its deliveries (and the flow jobs each one starts) only add work."""
    statement = text("UPDATE webhook_subscriptions SET status = :status WHERE system_key = :key")
    async with runtime.engine.begin() as connection:
        await connection.execute(statement, {"status": "paused", "key": PLUGIN_SUBSCRIPTION_KEY})
    yield
    async with runtime.engine.begin() as connection:
        await connection.execute(statement, {"status": "active", "key": PLUGIN_SUBSCRIPTION_KEY})


StartWorker = Callable[..., contextlib.AbstractAsyncContextManager[None]]


@pytest.fixture
def start_worker(bus_runtime: Runtime) -> StartWorker:
    """`async with start_worker(concurrency=8):` a procrastinate worker in the test's loop.

    It polls every 0.1 s besides LISTEN/NOTIFY, so short scheduled retries run on time (the
    production worker polls every 5 s: enough for a schedule that starts at 30 s).
    """

    @contextlib.asynccontextmanager
    async def run(concurrency: int = 8, polling: float = 0.1) -> AsyncIterator[None]:
        task = asyncio.create_task(
            bus_runtime.job_app.run_worker_async(
                concurrency=concurrency,
                install_signal_handlers=False,
                additional_context=worker_context(bus_runtime),
                fetch_job_polling_interval=polling,
                shutdown_graceful_timeout=10,
            )
        )
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return run


@dataclass
class BusTenant:
    tenant_id: uuid.UUID
    http: httpx.AsyncClient
    runtime: Runtime
    subscriptions: list[str]

    async def subscribe(self, url: str, event_types: list[str] | None = None) -> dict[str, Any]:
        response = await self.http.post(
            "/api/webhooks/subscriptions", json={"url": url, "event_types": event_types or ["*"]}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        self.subscriptions.append(created["id"])
        return created

    async def deliveries(self, subscription_id: str, **filters: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params = {"subscription_id": subscription_id, "limit": "200", **filters}
            if cursor:
                params["cursor"] = cursor
            response = await self.http.get("/api/webhooks/deliveries", params=params)
            assert response.status_code == 200, response.text
            page = response.json()
            found.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return found

    async def emit(self, count: int, event_type: str = "customer.created") -> list[str]:
        """Record `count` events straight through the outbox, 200 per transaction."""
        ids: list[str] = []
        context = TenantContext(tenant_id=self.tenant_id)
        for start in range(0, count, 200):
            async with self.runtime.sessionmaker() as session, session.begin():
                for index in range(start, min(count, start + 200)):
                    payload = {"customer_id": str(uuid.uuid4()), "name": f"Customer {index}"}
                    event = await record_event(session, context, event_type, payload)
                    ids.append(event.event_id)
        return ids

    async def status_counts(self, subscription_id: str) -> dict[str, int]:
        async with self.runtime.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT status, count(*) FROM webhook_deliveries "
                    "WHERE subscription_id = :id GROUP BY status"
                ),
                {"id": subscription_id},
            )
            return {status: int(count) for status, count in rows}


MakeBusTenant = Callable[[], Awaitable[BusTenant]]


@pytest.fixture
async def make_bus_tenant(bus_app: FastAPI, bus_runtime: Runtime) -> AsyncIterator[MakeBusTenant]:
    """Factory: a tenant with a client on the bus app; its subscriptions are deleted after the
    test, so no retry of a finished test's delivery ever reaches a later one's receiver."""
    made: list[BusTenant] = []

    async def make() -> BusTenant:
        async with bus_runtime.sessionmaker() as session, session.begin():
            issued = await create_tenant(session, f"bus-{uuid.uuid4().hex[:10]}")
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bus_app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {issued.api_token}"},
        )
        tenant = BusTenant(issued.tenant_id, http, bus_runtime, [])
        made.append(tenant)
        return tenant

    yield make
    for tenant in made:
        for subscription_id in tenant.subscriptions:
            await tenant.http.delete(f"/api/webhooks/subscriptions/{subscription_id}")
        await tenant.http.aclose()


@pytest.fixture
async def bus_tenant(make_bus_tenant: MakeBusTenant) -> BusTenant:
    return await make_bus_tenant()
