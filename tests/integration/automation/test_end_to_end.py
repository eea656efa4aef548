"""End to end with a real worker: platform write → event bus → plugin → receiver → platform.

Every test runs in both modes (`tests/integration/remote.py`): `in_process`, the parts meeting
through ports in one transaction (the app called through httpx's ASGI transport), and
`over_http`, a second system served by uvicorn on a real port with `platform_url` set, whose
parts meet through the contract's HTTP (signed webhooks to the plugin, batches to the receiver,
the receiver's calls to the platform's REST API). Each test also checks which path was taken.
Procrastinate workers run on each system's database. Waits poll with a deadline; nothing
sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest

from tests.integration.automation.conftest import (
    EXECUTIONS_PATH,
    WEBHOOK_PATH,
    MakeFlow,
    envelope,
    signed_request,
)
from tests.integration.conftest import TenantHandle
from tests.integration.remote import System, plugin_deliveries, receiver_batches

T = TypeVar("T")
DEADLINE_SECONDS = 30.0


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    """Poll `probe` until `done` holds of its answer, or fail after the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; last seen: {value!r}")
        await asyncio.sleep(0.05)


def _finished(executions: list[dict[str, Any]], count: int = 1) -> bool:
    return len(executions) >= count and all(e["status"] != "running" for e in executions)


async def _executions(tenant: TenantHandle, **params: str) -> list[dict[str, Any]]:
    response = await tenant.http.get(EXECUTIONS_PATH, params={"limit": 200, **params})
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def _items(tenant: TenantHandle, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await tenant.http.get(path)).json()["items"]
    return items


@pytest.fixture
async def tenant(system: System) -> TenantHandle:
    """A fresh tenant of the system under test, in its mode."""
    return await system.make_tenant()


async def assert_path_taken(
    system: System,
    tenant: TenantHandle,
    *,
    plugin_events: dict[str, int],
    batches_of: list[str],
) -> None:
    """Which way the parts met. Over HTTP: the bus delivered the tenant's events to the plugin's
    operator subscription (`plugin_events`: how many of each type, all `delivered`) and the
    receiver keyed the batches of exactly the executions `batches_of` (all `completed`). In
    process: no delivery to the plugin, no receiver key (the ports took the other path)."""
    runtime, tenant_id = system.runtime, tenant.tenant_id
    if not system.over_http:
        assert await plugin_deliveries(runtime, tenant_id) == []
        assert await receiver_batches(runtime, tenant_id) == []
        return
    expected = sorted((kind, "delivered") for kind, n in plugin_events.items() for _ in range(n))
    await eventually(
        lambda: plugin_deliveries(runtime, tenant_id),
        lambda found: sorted(d for d in found if d[0] in plugin_events) == expected,
        f"the plugin's webhook deliveries of {plugin_events}",
    )
    batches = await receiver_batches(runtime, tenant_id)
    assert {execution_id for execution_id, _ in batches} == set(batches_of), batches
    assert all(status == "completed" for _, status in batches), batches


class TestWelcomeFlow:
    async def test_a_customer_with_an_email_is_welcomed(
        self, system: System, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        created = await tenant.http.post(
            "/api/customers", json={"name": "John Doe", "email": "john@example.com"}
        )
        assert created.status_code == 201, created.text

        [execution] = await eventually(
            lambda: _executions(tenant), _finished, "the welcome flow's execution"
        )
        assert execution["status"] == "completed", execution
        assert execution["trigger_data"]["customer_id"] == created.json()["id"]

        [email] = await _items(tenant, "/api/notifications")
        assert email["channel"] == "email"
        assert email["to"] == "john@example.com"
        assert email["subject"] == "Welcome John Doe!"
        [task] = await _items(tenant, "/api/tasks")
        assert task["title"] == "Follow up with John Doe"
        due = datetime.fromisoformat(task["due_date"])
        assert abs(due - (datetime.now(UTC) + timedelta(days=3))) < timedelta(minutes=5)

        detail = (await tenant.http.get(f"{EXECUTIONS_PATH}/{execution['id']}")).json()
        assert [(e["action_type"], e["success"]) for e in detail["events"]] == [
            ("send_email", True),
            ("create_task", True),
        ]
        assert [r["success"] for r in detail["execution_results"]] == [True, True]
        await assert_path_taken(
            system, tenant, plugin_events={"customer.created": 1}, batches_of=[execution["id"]]
        )

    async def test_a_customer_without_an_email_is_skipped(
        self, system: System, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        created = await tenant.http.post("/api/customers", json={"name": "No Mail"})
        assert created.status_code == 201, created.text
        [execution] = await eventually(
            lambda: _executions(tenant), _finished, "the skipped execution"
        )
        assert execution["status"] == "skipped"
        assert execution["steps"][0]["passed"] is False
        detail = (await tenant.http.get(f"{EXECUTIONS_PATH}/{execution['id']}")).json()
        assert detail["events"] == []
        assert await _items(tenant, "/api/notifications") == []
        assert await _items(tenant, "/api/tasks") == []
        await assert_path_taken(
            system, tenant, plugin_events={"customer.created": 1}, batches_of=[]
        )


async def test_the_same_webhook_twice_runs_the_flow_once(
    system: System, tenant: TenantHandle, make_flow: MakeFlow
) -> None:
    client, settings = system.client, system.settings
    await make_flow(tenant)
    payload = {"customer_id": "c-1", "name": "Jane Roe", "email": "jane@example.com"}
    body, headers = signed_request(
        settings, envelope(tenant.tenant_id, "customer.created", payload)
    )
    answers = await asyncio.gather(
        client.post(WEBHOOK_PATH, content=body, headers=headers),
        client.post(WEBHOOK_PATH, content=body, headers=headers),
    )
    assert [answer.status_code for answer in answers] == [202, 202]
    await eventually(lambda: _executions(tenant), _finished, "the execution")
    again = await client.post(WEBHOOK_PATH, content=body, headers=headers)
    assert again.status_code == 202
    assert again.json()["duplicate"] is True

    executions = await _executions(tenant)
    assert [e["status"] for e in executions] == ["completed"]
    assert len(await _items(tenant, "/api/notifications")) == 1
    assert len(await _items(tenant, "/api/tasks")) == 1
    # The event came straight to the webhook: only its batch went a way to look at.
    await assert_path_taken(system, tenant, plugin_events={}, batches_of=[executions[0]["id"]])


async def test_a_fan_out_stops_at_the_actions_per_event_limit(
    system: System, tenant: TenantHandle, make_flow: MakeFlow
) -> None:
    """Two `create_task` actions on `task.created`: below the depth limit the tree would be
    2 + 4 + ... + 64 = 126 tasks from one outside write; the budget of the tree's root event
    lets exactly `max_actions_per_event` happen, and the others fail naming the limit."""
    limit = system.settings.max_actions_per_event
    spawn = [
        {
            "id": f"spawn_{index}",
            "type": "action",
            "action_type": "create_task",
            "payload_template": {"title": "child of {{trigger.title}}"},
        }
        for index in (1, 2)
    ]
    await make_flow(
        tenant, name="Fan-out", trigger_event="task.created", flow_definition={"steps": spawn}
    )
    created = await tenant.http.post("/api/tasks", json={"title": "root"})
    assert created.status_code == 201, created.text

    async def settled() -> tuple[int, list[dict[str, Any]]]:
        tasks = (await tenant.http.get("/api/tasks", params={"limit": 200})).json()["items"]
        return len(tasks), await _executions(tenant)

    count, executions = await eventually(
        settled,
        lambda found: found[0] >= limit + 1 and _finished(found[1]),
        "the fan-out to use up its budget",
    )
    assert count == limit + 1  # the outside write's task, and the budget's worth
    refusals = [e for e in executions if "BCS_MAX_ACTIONS_PER_EVENT" in (e["error"] or "")]
    assert refusals, [e["error"] for e in executions]
    assert all(e["status"] == "completed_with_errors" for e in refusals)
    await asyncio.sleep(0.3)  # nothing is still on its way
    assert (await settled())[0] == limit + 1


async def test_a_flow_feeding_itself_stops_at_the_depth_limit(
    system: System, tenant: TenantHandle, make_flow: MakeFlow
) -> None:
    settings = system.settings
    copy_product = {
        "id": "action_1",
        "type": "action",
        "action_type": "create_product",
        "payload_template": {"name": "Copy of {{trigger.name}}", "price": "{{trigger.price}}"},
    }
    await make_flow(
        tenant,
        name="Runaway copier",
        trigger_event="product.created",
        flow_definition={"steps": [copy_product]},
    )
    created = await tenant.http.post("/api/products", json={"name": "Mug", "price": 10})
    assert created.status_code == 201, created.text

    limit = settings.max_causation_depth
    executions = await eventually(
        lambda: _executions(tenant),
        lambda found: _finished(found, limit + 2),
        "the loop to reach the depth limit",
    )
    by_depth = {e["causation_depth"]: e for e in executions}
    assert sorted(by_depth) == list(range(limit + 2))
    assert all(by_depth[depth]["status"] == "completed" for depth in range(limit + 1))
    refused = by_depth[limit + 1]
    assert refused["status"] == "failed"
    assert f"depth limit {limit} exceeded" in refused["error"]
    assert "loop" in refused["error"]
    products = (await tenant.http.get("/api/products", params={"limit": 50})).json()["items"]
    assert len(products) == limit + 2
    # Nothing more happens after the refusal: the chain is over.
    assert len(await _executions(tenant)) == limit + 2
    await assert_path_taken(
        system,
        tenant,
        plugin_events={"product.created": limit + 2},
        batches_of=[by_depth[depth]["id"] for depth in range(limit + 1)],
    )
