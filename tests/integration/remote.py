"""A system whose parts talk over real HTTP, and the two modes the integration tests run in.

- `in_process`: the session app of `tests/integration/conftest.py`, its parts meeting through
  the ports (`bettercallsold.wiring`): the bus hands each event to the plugin's intake in the
  write's transaction, an execution calls the receiver and the platform as functions.
- `over_http`: a second system on its own fresh database, served by a real uvicorn server on a
  port of 127.0.0.1, with `platform_url` pointing at that port: its ports are empty, so the bus
  delivers signed webhooks to the plugin, the plugin POSTs its batches to the receiver and the
  receiver calls the platform's REST API, all over TCP. Tests reach it over the same port.

`System` is what a test sees of either: the settings (to sign webhooks, read limits), the
runtime (to read tables), an unauthenticated client and a tenant factory.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import psycopg
import uvicorn
from fastapi import FastAPI
from psycopg import sql
from sqlalchemy import text

from bettercallsold.app import create_app
from bettercallsold.bus.startup import PLUGIN_SUBSCRIPTION_KEY
from bettercallsold.db.migrate import migrate
from bettercallsold.db.url import libpq_url, with_database
from bettercallsold.jobs.worker import run_worker
from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from bettercallsold.tenancy.service import create_tenant
from tests.integration.conftest import MakeTenant, TenantHandle

Mode = Literal["in_process", "over_http"]
IN_PROCESS: Mode = "in_process"
OVER_HTTP: Mode = "over_http"
MODES: tuple[Mode, ...] = (IN_PROCESS, OVER_HTTP)

_START_SECONDS = 30.0


@dataclass(frozen=True)
class System:
    """One system under test, in either mode."""

    mode: Mode
    settings: Settings
    runtime: Runtime
    client: httpx.AsyncClient
    """Unauthenticated, on the system's HTTP interface (in-process ASGI, or the real port)."""
    make_tenant: MakeTenant

    @property
    def over_http(self) -> bool:
        return self.mode == OVER_HTTP


# --- the remote system ----------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(server_url: str, label: str) -> Iterator[str]:
    """A new database on `server_url`'s server, migrated from empty; dropped at the end."""
    name = f"bcs_test_{uuid.uuid4().hex[:12]}_{label}"
    url = with_database(server_url, name)
    try:
        migrate(url)
        yield url
    finally:
        admin_url = libpq_url(with_database(server_url, "postgres"))
        with psycopg.connect(admin_url, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


class _Server(uvicorn.Server):
    """uvicorn's server, leaving the process's signal handlers alone: Ctrl-C stops pytest, not
    just this server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass(frozen=True)
class RemoteSystem:
    """The whole app behind a real port, with its own job worker and database."""

    settings: Settings
    app: FastAPI
    runtime: Runtime
    base_url: str

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        """A client over TCP to the server, authenticated as a tenant when given its token."""
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, trust_env=False)

    @contextlib.asynccontextmanager
    async def tenants(self) -> AsyncIterator[MakeTenant]:
        """Factory: a fresh tenant of this system and a client over TCP authenticated as it."""
        clients: list[httpx.AsyncClient] = []

        async def make() -> TenantHandle:
            async with self.runtime.sessionmaker() as session, session.begin():
                issued = await create_tenant(session, f"tenant-{uuid.uuid4().hex[:10]}")
            http = self.client(issued.api_token)
            clients.append(http)
            return TenantHandle(issued.tenant_id, issued.api_token, http)

        try:
            yield make
        finally:
            for http in clients:
                await http.aclose()


@contextlib.asynccontextmanager
async def serve_remote_system(database_url: str, var_dir: Path) -> AsyncIterator[RemoteSystem]:
    """Serve the app on a free port of 127.0.0.1 with `platform_url` set to it (so every part
    is reached over HTTP), and run a job worker on its runtime; all in the running loop."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))  # the port is ours from here: no race for a free one
    port: int = listener.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        var_dir=var_dir,
        platform_url=base_url,
        webhook_allow_private_urls=False,
    ).with_generated_secrets()
    app = create_app(settings, run_worker=False)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        log_config=None,  # keep the test run's logging configuration as it is
        lifespan="on",
        ws="none",
    )
    server = _Server(config)

    async def serve() -> None:
        try:
            await server.serve(sockets=[listener])
        except SystemExit as exc:  # uvicorn's way of saying the startup failed
            raise RuntimeError(f"the remote server did not start (exit {exc.code})") from exc

    serving = asyncio.create_task(serve(), name=f"uvicorn:{port}")
    try:
        await _started(server, serving)
        runtime: Runtime = app.state.runtime
        worker = asyncio.create_task(run_worker(runtime, concurrency=4), name=f"worker:{port}")
        try:
            await asyncio.sleep(0.2)  # as the `worker` fixture: let it start listening
            yield RemoteSystem(settings=settings, app=app, runtime=runtime, base_url=base_url)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    finally:
        server.should_exit = True
        try:
            await serving
        finally:
            listener.close()


async def _started(server: uvicorn.Server, serving: asyncio.Task[None]) -> None:
    deadline = time.monotonic() + _START_SECONDS
    while not server.started:
        if serving.done():
            serving.result()  # raises the reason it stopped
            raise RuntimeError("the remote server stopped before it started")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the remote server did not start in {_START_SECONDS:g} s")
        await asyncio.sleep(0.01)


# --- which path the parts took ----------------------------------------------------------------


async def plugin_deliveries(runtime: Runtime, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    """`(event_type, status)` of the bus's deliveries of this tenant's events to the automation
    plugin's operator subscription, oldest first (none when the plugin takes them in process)."""
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT d.event_type, d.status FROM webhook_deliveries d"
                " JOIN webhook_subscriptions s ON s.id = d.subscription_id"
                " WHERE s.system_key = :key AND d.tenant_id = :tenant"
                " ORDER BY d.created_at, d.id"
            ),
            {"key": PLUGIN_SUBSCRIPTION_KEY, "tenant": tenant_id},
        )
        return [(str(row.event_type), str(row.status)) for row in rows]


async def receiver_batches(runtime: Runtime, tenant_id: uuid.UUID) -> list[tuple[str, str]]:
    """`(flow_execution_id, status)` of the receiver's idempotency keys for this tenant: one
    per batch received over HTTP (the in-process receiver keeps none)."""
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT flow_execution_id, status FROM receiver_idempotency_keys"
                " WHERE tenant_id = :tenant ORDER BY created_at, key"
            ),
            {"tenant": tenant_id},
        )
        return [(str(row.flow_execution_id), str(row.status)) for row in rows]
