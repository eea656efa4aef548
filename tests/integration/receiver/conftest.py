"""Receiver fixtures: an execution row to act for, a plugin client, and readers of the log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from bettercallsold.catalogue import action_spec
from bettercallsold.ports import ExecutionRef
from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from tests.integration.conftest import MakeTenant, TenantHandle

RECEIVER_PATH = "/api/events/automation"


@dataclass(frozen=True)
class Execution:
    id: uuid.UUID
    tenant: TenantHandle
    depth: int


MakeExecution = Callable[..., Awaitable[Execution]]


@pytest.fixture
def make_execution(runtime: Runtime, make_tenant: MakeTenant) -> MakeExecution:
    """Factory: a flow and a running execution of it (for `tenant`, or a new tenant)."""

    async def make(tenant: TenantHandle | None = None, depth: int = 2) -> Execution:
        owner = tenant or await make_tenant()
        flow_id, execution_id = uuid.uuid4(), uuid.uuid4()
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO automation_flows (id, tenant_id, name, trigger_event,"
                    " flow_definition, status) VALUES (:id, :tenant, 'receiver test',"
                    " 'customer.created', CAST('{\"steps\": []}' AS jsonb), 'active')"
                ),
                {"id": flow_id, "tenant": owner.tenant_id},
            )
            await session.execute(
                text(
                    "INSERT INTO automation_executions (id, flow_id, tenant_id, status,"
                    " trigger_data, causation_depth, steps) VALUES (:id, :flow, :tenant,"
                    " 'running', CAST('{}' AS jsonb), :depth, CAST('[]' AS jsonb))"
                ),
                {"id": execution_id, "flow": flow_id, "tenant": owner.tenant_id, "depth": depth},
            )
        return Execution(id=execution_id, tenant=owner, depth=depth)

    return make


@pytest.fixture
async def execution(make_execution: MakeExecution) -> Execution:
    return await make_execution()


@pytest.fixture
async def plugin(app: FastAPI, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the plugin's credential (the internal token)."""
    assert settings.internal_api_token is not None
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://test",
        headers={"Authorization": f"Bearer {settings.internal_api_token.get_secret_value()}"},
    ) as http:
        yield http


@dataclass(frozen=True)
class _Action:
    action_type: str
    payload: Any
    step_id: str | None = None


class Receiver:
    """Sends batches for one execution and reads back what the receiver recorded.

    `mode` is how `results` reaches the receiver: `http` posts the batch to the contract's
    endpoint (a plugin elsewhere), `port` calls the in-process port in a transaction of its own
    (a plugin in the same process, as an execution job does). `send` is always HTTP.
    """

    def __init__(self, plugin: httpx.AsyncClient, runtime: Runtime, mode: str = "http") -> None:
        self.plugin = plugin
        self.runtime = runtime
        self.mode = mode

    async def send(
        self, execution: Execution, events: list[dict[str, Any]], key: str | None = None
    ) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key is not None else {}
        return await self.plugin.post(
            RECEIVER_PATH,
            json={"flow_execution_id": str(execution.id), "events": events},
            headers=headers,
        )

    async def results(
        self, execution: Execution, events: list[dict[str, Any]], key: str | None = None
    ) -> list[dict[str, Any]]:
        if self.mode == "port":
            return await self._through_port(execution, events, key)
        response = await self.send(execution, events, key)
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        assert len(results) == len(events)
        return results

    async def _through_port(
        self, execution: Execution, events: list[dict[str, Any]], key: str | None
    ) -> list[dict[str, Any]]:
        port = self.runtime.ports.receiver
        assert port is not None, "the test app runs the receiver in process"
        ref = ExecutionRef(execution.id, execution.tenant.tenant_id, execution.depth)
        actions = [_Action(e["action_type"], e["payload"], e.get("step_id")) for e in events]
        spec = action_spec(actions[0].action_type) if len(actions) == 1 else None
        if spec is not None and spec.outside:  # as the runner does: after its commit
            return [await port.perform_outside(self.runtime, ref, actions[0])]
        async with self.runtime.sessionmaker() as session, session.begin():
            results = await port.perform(session, ref, key or f"{execution.id}:test", actions)
        assert len(results) == len(events)
        return results

    async def log(self, execution: Execution) -> list[dict[str, Any]]:
        """The execution's event-log rows, oldest first."""
        async with self.runtime.sessionmaker() as session:
            rows = await session.execute(
                text(
                    "SELECT action_type, payload, result, success, tenant_id, step_id"
                    " FROM automation_event_log WHERE flow_execution_id = :id"
                    " ORDER BY created_at, id"
                ),
                {"id": execution.id},
            )
            return [dict(row._mapping) for row in rows]

    async def caused_events(self, execution: Execution, event_type: str) -> list[dict[str, Any]]:
        """The platform events of `event_type` caused by the execution (with their causation)."""
        async with self.runtime.sessionmaker() as session:
            rows = await session.execute(
                text(
                    "SELECT payload, causation_execution_id, causation_depth, tenant_id"
                    " FROM platform_events WHERE causation_execution_id = :id"
                    " AND event_type = :type ORDER BY occurred_at"
                ),
                {"id": execution.id, "type": event_type},
            )
            return [dict(row._mapping) for row in rows]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked `both_receiver_modes` run with the receiver reached over HTTP and through
    its in-process port; the others (HTTP status codes, idempotency keys) over HTTP only."""
    if "receiver_mode" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_receiver_modes") is not None
        metafunc.parametrize("receiver_mode", ["http", "port"] if both else ["http"])


@pytest.fixture
def receiver(plugin: httpx.AsyncClient, runtime: Runtime, receiver_mode: str) -> Receiver:
    return Receiver(plugin, runtime, receiver_mode)
