"""Replay against history, in both modes (the bus's events read through its port in process,
over `GET /api/events` with a service assertion otherwise): a changed condition shows which
events would now act differently beside what really happened, nothing is performed or
recorded, bad input is a 422 naming the field, and a budget-busting replay of 500 events
answers within a second."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import EXECUTIONS_PATH, FLOWS_PATH, MakeFlow
from tests.integration.automation.test_flows_v2 import eventually
from tests.integration.conftest import TenantHandle
from tests.integration.remote import System


def vip_flow(condition: dict[str, Any]) -> dict[str, Any]:
    return {
        "steps": [
            {"id": "who", "type": "condition", "field": "email", **condition},
            {
                "id": "hello",
                "type": "action",
                "action_type": "send_email",
                # `now` too: a replay renders it as the real run did
                "payload_template": {
                    "to": "{{trigger.email}}",
                    "subject": "Hi {{trigger.name}}, until {{now + 3 days}}",
                },
            },
            {
                "id": "follow",
                "type": "action",
                "action_type": "create_task",
                # the real result's id, not the catalogue sample's
                "payload_template": {"title": "Follow up on {{steps.hello.id}}"},
            },
        ]
    }


VIP = {"operator": "ends_with", "value": "@vip.com"}
CUSTOMERS = [("Ann", "ann@vip.com"), ("Bob", "bob@example.com"), ("Cy", "cy@vip.com")]


@pytest.fixture
async def shop(system: System) -> TenantHandle:
    return await system.make_tenant()


async def _replay(tenant: TenantHandle, flow_id: str, **body: Any) -> Any:
    return await tenant.http.post(f"{FLOWS_PATH}/{flow_id}/replay", json=body)


async def _footprint(runtime: Runtime, tenant: TenantHandle) -> dict[str, int]:
    """What a replay must not add to: executions, the receiver's log, the outbox, jobs."""
    counts = {}
    async with runtime.engine.connect() as connection:
        for table in ("automation_executions", "automation_event_log", "platform_events"):
            counts[table] = await connection.scalar(
                text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),
                {"t": tenant.tenant_id},
            )
        counts["jobs"] = await connection.scalar(text("SELECT count(*) FROM procrastinate_jobs"))
    for path in ("/api/notifications", "/api/tasks"):
        counts[path] = len((await tenant.http.get(path)).json()["items"])
    return counts


class TestReplay:
    async def test_a_changed_condition_shows_what_would_change_and_does_nothing(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(
            shop, trigger_event="customer.created", flow_definition=vip_flow(VIP)
        )
        for name, email in CUSTOMERS:
            created = await shop.http.post("/api/customers", json={"name": name, "email": email})
            assert created.status_code == 201
        executions = await eventually(
            lambda: _executions(shop),
            lambda found: len(found) == 3 and all(e["status"] != "running" for e in found),
            "the three runs",
        )
        by_email = {e["trigger_data"]["email"]: e for e in executions}
        assert [by_email[email]["status"] for _, email in CUSTOMERS] == [
            "completed",
            "skipped",
            "completed",
        ]
        before = await _footprint(system.runtime, shop)
        spent = await _assertions_spent(system.runtime)

        unchanged = await _replay(shop, flow["id"])
        assert unchanged.status_code == 200, unchanged.text
        assert [item["changed"] for item in unchanged.json()["items"]] == [False, False, False]
        assert unchanged.json()["error"] is None
        # over HTTP the plugin read the events as the tenant, with one service assertion
        assert await _assertions_spent(system.runtime) == spent + (1 if system.over_http else 0)

        draft = vip_flow({"operator": "starts_with", "value": "ann"})
        replayed = await _replay(shop, flow["id"], flow_definition=draft)

        assert replayed.status_code == 200, replayed.text
        items = replayed.json()["items"]
        assert [item["before"]["execution_id"] for item in items] == [
            by_email[email]["id"] for _, email in reversed(CUSTOMERS)
        ]  # newest first
        assert [item["event_id"] for item in items] == [
            by_email[email]["event_id"] for _, email in reversed(CUSTOMERS)
        ]
        cy, bob, ann = items
        assert (cy["matched"], cy["actions"], cy["changed"]) == (False, [], True)
        assert cy["before"]["status"] == "completed"
        assert [a["action_type"] for a in cy["before"]["actions"]] == ["send_email", "create_task"]
        assert cy["before"]["actions"][0]["payload"]["to"] == "cy@vip.com"
        assert cy["before"]["actions"][0]["success"] is True
        assert (bob["matched"], bob["changed"], bob["before"]["status"]) == (
            False,
            False,
            "skipped",
        )
        assert (ann["matched"], ann["changed"]) == (True, False)
        assert ann["actions"] == [
            {"action_type": a["action_type"], "payload": a["payload"]}
            for a in ann["before"]["actions"]
        ]
        assert await _footprint(system.runtime, shop) == before

        limited = await _replay(shop, flow["id"], limit=1)
        assert [item["event_id"] for item in limited.json()["items"]] == [cy["event_id"]]
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert (await _replay(shop, flow["id"], since=future)).json()["items"] == []

    async def test_an_event_the_flow_never_ran_for_has_no_before(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await shop.http.post("/api/customers", json={"name": "Di", "email": "di@vip.com"})
        flow = await make_flow(
            shop, trigger_event="customer.created", flow_definition=vip_flow(VIP)
        )
        [item] = (await _replay(shop, flow["id"])).json()["items"]
        assert item["before"] is None
        assert (item["matched"], item["changed"]) == (True, True)
        assert [a["action_type"] for a in item["actions"]] == ["send_email", "create_task"]
        assert item["actions"][0]["payload"]["to"] == "di@vip.com"


class TestRefusals:
    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"limit": 0}, ["body", "limit"]),
            ({"limit": 501}, ["body", "limit"]),
            ({"since": "last tuesday"}, ["body", "since"]),
            (
                {"flow_definition": {"steps": [{"id": "x", "type": "action"}]}},
                ["body", "flow_definition", "steps", "x", "action_type"],
            ),
        ],
    )
    async def test_bad_input_is_a_422_naming_the_field(
        self, tenant: TenantHandle, make_flow: MakeFlow, body: dict[str, Any], loc: list[Any]
    ) -> None:
        flow = await make_flow(tenant)
        response = await _replay(tenant, flow["id"], **body)
        assert response.status_code == 422, response.text
        assert loc in [detail["loc"] for detail in response.json()["detail"]]

    async def test_another_tenants_flow_is_a_404(
        self, make_tenant: Any, make_flow: MakeFlow
    ) -> None:
        owner, other = await make_tenant(), await make_tenant()
        flow = await make_flow(owner)
        assert (await _replay(other, flow["id"])).status_code == 404
        assert (await _replay(owner, str(uuid.uuid4()))).status_code == 404


class TestBudget:
    async def test_a_budget_busting_replay_of_500_events_answers_within_a_second(
        self, runtime: Runtime, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        loops = "{% for i in (1..1000) %}{{i}}{% endfor %}"
        steps = [
            {
                "id": f"a{index}",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": loops},
            }
            for index in range(50)
        ]
        flow = await make_flow(
            tenant, trigger_event="task.created", flow_definition={"steps": steps}
        )
        await _store_events(runtime, tenant, "task.created", 500)

        started = time.monotonic()
        response = await _replay(tenant, flow["id"], limit=500)
        seconds = time.monotonic() - started

        assert response.status_code == 200, response.text[:300]
        assert seconds < 1.0, seconds
        print(f"budget-busting replay of 500 events: {seconds * 1000:.0f} ms")
        answer = response.json()
        assert "replay budget exceeded" in answer["error"]
        assert 0 < len(answer["items"]) < 500
        assert "execution budget exceeded" in answer["items"][0]["error"]


async def _assertions_spent(runtime: Runtime) -> int:
    async with runtime.engine.connect() as connection:
        found = await connection.scalar(text("SELECT count(*) FROM assertion_uses"))
    return int(found or 0)


async def _executions(tenant: TenantHandle) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await tenant.http.get(EXECUTIONS_PATH)).json()["items"]
    return items


async def _store_events(
    runtime: Runtime, tenant: TenantHandle, event_type: str, count: int
) -> None:
    """`count` stored events of the tenant, written straight to the outbox (no flow starts)."""
    now = datetime.now(UTC)
    rows = [
        {
            "id": f"evt_{uuid.uuid4().hex}",
            "tenant_id": tenant.tenant_id,
            "event_type": event_type,
            "payload": json.dumps({"task_id": str(uuid.uuid4()), "title": f"t{index}"}),
            "occurred_at": now - timedelta(seconds=index),
        }
        for index in range(count)
    ]
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO platform_events (id, tenant_id, event_type, payload, causation_depth,"
                " occurred_at) VALUES (:id, :tenant_id, :event_type, CAST(:payload AS jsonb), 0,"
                " :occurred_at)"
            ),
            rows,
        )
