"""Integration fixtures: the whole app on the test database, called over HTTP in-process."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bettercallsold.app import create_app
from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from bettercallsold.tenancy.service import create_tenant


@pytest.fixture(scope="session")
def settings(database_url: str, var_dir: Path) -> Settings:
    return Settings(
        database_url=database_url, var_dir=var_dir, webhook_allow_private_urls=False
    ).with_generated_secrets()


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings, run_worker=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
def runtime(app: FastAPI) -> Runtime:
    found: Runtime = app.state.runtime
    return found


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Unauthenticated client."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


@dataclass(frozen=True)
class TenantHandle:
    tenant_id: uuid.UUID
    token: str
    http: httpx.AsyncClient


MakeTenant = Callable[[], Awaitable[TenantHandle]]


@pytest.fixture
async def make_tenant(app: FastAPI, runtime: Runtime) -> AsyncIterator[MakeTenant]:
    """Factory: a fresh tenant and a client authenticated as it."""
    clients: list[httpx.AsyncClient] = []

    async def make() -> TenantHandle:
        async with runtime.sessionmaker() as session, session.begin():
            issued = await create_tenant(session, f"tenant-{uuid.uuid4().hex[:10]}")
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://test",
            headers={"Authorization": f"Bearer {issued.api_token}"},
        )
        clients.append(http)
        return TenantHandle(issued.tenant_id, issued.api_token, http)

    yield make
    for http in clients:
        await http.aclose()


@pytest.fixture
async def tenant(make_tenant: MakeTenant) -> TenantHandle:
    return await make_tenant()


@pytest.fixture
async def worker(runtime: Runtime) -> AsyncIterator[None]:
    """A real procrastinate worker on the test database for the duration of one test."""
    import asyncio
    import contextlib

    from bettercallsold.jobs.worker import run_worker

    task = asyncio.create_task(run_worker(runtime, concurrency=4))
    await asyncio.sleep(0.2)
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
