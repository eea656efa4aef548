"""Automation fixtures: signed platform events, flows, a stub receiver, and readers."""

from __future__ import annotations

import copy
import dataclasses
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from standardwebhooks.webhooks import Webhook

from bettercallsold.automation.seeding import EXAMPLES_DIR
from bettercallsold.ports import Ports
from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.remote import (
    IN_PROCESS,
    MODES,
    OVER_HTTP,
    RemoteSystem,
    System,
    fresh_database,
    serve_remote_system,
)

WEBHOOK_PATH = "/plugins/automation/webhook"
FLOWS_PATH = "/plugins/automation/flows"
EXECUTIONS_PATH = "/plugins/automation/executions"


def welcome_flow() -> dict[str, Any]:
    """The contract's "Welcome New Customer" flow, exactly as shipped in the examples."""
    document: dict[str, Any] = json.loads(
        (EXAMPLES_DIR / "01-welcome-new-customer.json").read_text()
    )
    return document


def signed_request(
    settings: Settings,
    envelope: dict[str, Any],
    *,
    webhook_id: str | None = None,
    timestamp: datetime | None = None,
    secret: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The body and Standard Webhooks headers of a delivery, signed as the event bus does."""
    assert settings.webhook_secret is not None
    body = json.dumps(envelope)
    msg_id = webhook_id or f"msg_{uuid.uuid4().hex}"
    moment = timestamp or datetime.now(UTC)
    signer = Webhook(secret or settings.webhook_secret.get_secret_value())
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(moment.timestamp())),
        "webhook-signature": signer.sign(msg_id, moment, body),
    }
    return body.encode(), headers


def envelope(
    tenant_id: uuid.UUID,
    event_type: str,
    payload: dict[str, Any],
    *,
    depth: int = 0,
    caused_by: uuid.UUID | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    return {
        "event_id": event_id or f"evt_{uuid.uuid4().hex}",
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "tenant_id": str(tenant_id),
        "payload": payload,
        "causation": {
            "flow_execution_id": str(caused_by) if caused_by else None,
            "depth": depth,
        },
    }


SendEvent = Callable[..., Awaitable[httpx.Response]]


@pytest.fixture
def send_event(client: httpx.AsyncClient, settings: Settings) -> SendEvent:
    """Deliver a signed event to the plugin's webhook, as the event bus would."""

    async def send(
        tenant_id: uuid.UUID,
        event_type: str,
        payload: dict[str, Any],
        *,
        webhook_id: str | None = None,
        **options: Any,
    ) -> httpx.Response:
        body, headers = signed_request(
            settings, envelope(tenant_id, event_type, payload, **options), webhook_id=webhook_id
        )
        return await client.post(WEBHOOK_PATH, content=body, headers=headers)

    return send


MakeFlow = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture
def make_flow() -> MakeFlow:
    """Factory: create a flow for a tenant through the API (the welcome flow by default)."""

    async def make(tenant: TenantHandle, **overrides: Any) -> dict[str, Any]:
        body = {**welcome_flow(), **overrides}
        response = await tenant.http.post(FLOWS_PATH, json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return make


async def received_event_id(runtime: Runtime, event_id: str) -> uuid.UUID:
    async with runtime.engine.connect() as connection:
        found = await connection.scalar(
            text("SELECT id FROM automation_received_events WHERE event_id = :event_id"),
            {"event_id": event_id},
        )
    assert found is not None, f"event {event_id} was not received"
    return uuid.UUID(str(found))


async def executions_for_event(runtime: Runtime, event_id: str) -> list[uuid.UUID]:
    """The executions the intake started for one event (in the webhook's transaction)."""
    async with runtime.engine.connect() as connection:
        rows = await connection.scalars(
            text(
                "SELECT e.id FROM automation_executions e"
                " JOIN automation_flows f ON f.id = e.flow_id"
                " WHERE e.event_id = :event_id ORDER BY f.created_at, f.id"
            ),
            {"event_id": event_id},
        )
        return [uuid.UUID(str(row)) for row in rows]


async def executions_of(runtime: Runtime, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT * FROM automation_executions WHERE tenant_id = :tenant"
                " ORDER BY started_at, id"
            ),
            {"tenant": tenant_id},
        )
        return [dict(row._mapping) for row in rows]


@dataclass
class StubReceiver:
    """A fake event receiver behind `httpx.MockTransport`: records every batch and answers
    each action with success (data: the payload plus an id) unless told otherwise."""

    requests: list[httpx.Request] = field(default_factory=list)
    status_code: int = 200
    failing_actions: set[str] = field(default_factory=set)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.status_code != 200:
            return httpx.Response(self.status_code, json={"detail": "stub says no"})
        body = json.loads(request.content)
        results = []
        for event in body["events"]:
            if event["action_type"] in self.failing_actions:
                results.append(
                    {"action_type": event["action_type"], "success": False, "error": "stub"}
                )
            else:
                data = {"id": str(uuid.uuid4()), **copy.deepcopy(event["payload"])}
                results.append({"action_type": event["action_type"], "success": True, "data": data})
        return httpx.Response(200, json={"results": results})

    def batches(self) -> list[dict[str, Any]]:
        return [json.loads(request.content) for request in self.requests]

    def keys(self) -> list[str]:
        return [request.headers["Idempotency-Key"] for request in self.requests]


def reads_only(ports: Ports) -> Ports:
    """Every part over HTTP: only the reads over the shared database stay (`wiring.py`)."""
    return Ports(executions=ports.executions, action_log=ports.action_log)


@pytest.fixture
async def stub_receiver(runtime: Runtime) -> AsyncIterator[tuple[Runtime, StubReceiver]]:
    """A copy of the runtime that sends its batches over HTTP (no in-process receiver port),
    with an HTTP client that reaches the stub receiver instead."""
    stub = StubReceiver()
    async with httpx.AsyncClient(transport=httpx.MockTransport(stub.handle)) as http:
        yield dataclasses.replace(runtime, http=http, ports=reads_only(runtime.ports)), stub


# --- both modes: in process (ports), and over HTTP through a real port (../remote.py) ------


@pytest.fixture(scope="session")
def remote_database_url(database_url: str) -> Iterator[str]:
    """The remote system's own fresh database, on the test database's server."""
    with fresh_database(database_url, "http") as url:
        yield url


@pytest.fixture(scope="session")
async def remote_system(
    remote_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RemoteSystem]:
    """The whole app served by uvicorn on a real port, with `platform_url` set to it (so its
    parts meet over HTTP), and a job worker on its runtime, for the session."""
    async with serve_remote_system(
        remote_database_url, tmp_path_factory.mktemp("remote-var")
    ) as remote:
        yield remote


@pytest.fixture
async def over_http_system(remote_system: RemoteSystem) -> AsyncIterator[System]:
    async with remote_system.client() as client, remote_system.tenants() as make_tenant:
        yield System(
            mode=OVER_HTTP,
            settings=remote_system.settings,
            runtime=remote_system.runtime,
            client=client,
            make_tenant=make_tenant,
        )


@pytest.fixture(params=MODES)
def system(request: pytest.FixtureRequest) -> System:
    """The system under test, in each mode: `in_process` (the session app, its parts meeting
    through ports, with a worker for the test) or `over_http` (the remote system)."""
    if request.param == IN_PROCESS:
        request.getfixturevalue("worker")
        client: httpx.AsyncClient = request.getfixturevalue("client")
        make_tenant: MakeTenant = request.getfixturevalue("make_tenant")
        return System(
            mode=IN_PROCESS,
            settings=request.getfixturevalue("settings"),
            runtime=request.getfixturevalue("runtime"),
            client=client,
            make_tenant=make_tenant,
        )
    over_http: System = request.getfixturevalue("over_http_system")
    return over_http


# --- executions as data (the list, insights) ----------------------------------------------

MakeExecution = Callable[..., Awaitable[uuid.UUID]]


@pytest.fixture
def make_execution(runtime: Runtime) -> MakeExecution:
    """Factory: an execution row as the engine leaves it, written directly (its times chosen)."""

    async def make(
        tenant: TenantHandle,
        flow_id: str | None = None,
        *,
        status: str = "completed",
        started_at: datetime | None = None,
        duration_ms: float | None = 120.0,
        error: str | None = None,
        trigger_data: dict[str, Any] | None = None,
    ) -> uuid.UUID:
        execution_id = uuid.uuid4()
        started_at = started_at or datetime.now(UTC)
        completed_at = (
            None if duration_ms is None else started_at + timedelta(milliseconds=duration_ms)
        )
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO automation_executions (id, flow_id, tenant_id, status,"
                    " trigger_data, started_at, completed_at, error, steps, causation_depth)"
                    " VALUES (:id, :flow_id, :tenant_id, :status, CAST(:data AS jsonb),"
                    " :started_at, :completed_at, :error, '[]', 0)"
                ),
                {
                    "id": execution_id,
                    "flow_id": uuid.UUID(flow_id) if flow_id else None,
                    "tenant_id": tenant.tenant_id,
                    "status": status,
                    "data": json.dumps(trigger_data or {}),
                    "started_at": started_at,
                    "completed_at": completed_at,
                    "error": error,
                },
            )
        return execution_id

    return make
