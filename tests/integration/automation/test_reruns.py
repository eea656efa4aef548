"""Re-runs through the API with a real worker, in both modes: from the failed step (the
succeeded actions provably not performed again, shown `reused`, inside a loop and after a wait
too), the whole flow again, and the refusals (409, 404)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from bettercallsold.receiver.fingerprint import action_key
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import EXECUTIONS_PATH, FLOWS_PATH, MakeFlow
from tests.integration.automation.test_flows_v2 import eventually
from tests.integration.conftest import TenantHandle
from tests.integration.remote import System

HELLO = {
    "id": "hello",
    "type": "action",
    "action_type": "send_email",
    "payload_template": {"to": "{{trigger.email}}", "subject": "Hi {{trigger.name}}"},
}


def call_task(due_date: str) -> dict[str, Any]:
    return {
        "id": "call",
        "type": "action",
        "action_type": "create_task",
        "payload_template": {"title": "Call {{trigger.name}}", "due_date": due_date},
    }


BROKEN = {"steps": [HELLO, call_task("{{trigger.name}}")]}
"""The second action fails: a customer's name is not a due date."""
FIXED = {"steps": [HELLO, call_task("{{now + 3 days}}")]}


@pytest.fixture
async def shop(system: System) -> TenantHandle:
    return await system.make_tenant()


async def _execution(tenant: TenantHandle, execution_id: str) -> dict[str, Any]:
    found: dict[str, Any] = (await tenant.http.get(f"{EXECUTIONS_PATH}/{execution_id}")).json()
    return found


def _ended(found: dict[str, Any]) -> bool:
    return found.get("status") not in (None, "running", "waiting")


def _status(status: str) -> Callable[[dict[str, Any]], bool]:
    return lambda found: found.get("status") == status


async def _counts(tenant: TenantHandle) -> tuple[int, int]:
    emails = (await tenant.http.get("/api/notifications")).json()["items"]
    tasks = (await tenant.http.get("/api/tasks")).json()["items"]
    return len(emails), len(tasks)


async def _rerun(tenant: TenantHandle, execution_id: str, *, from_failed: bool) -> str:
    response = await tenant.http.post(
        f"{EXECUTIONS_PATH}/{execution_id}/rerun", json={"from_failed": from_failed}
    )
    assert response.status_code == 202, response.text
    started: str = response.json()["execution_id"]
    return started


async def _caused_events(runtime: Runtime, execution_id: str) -> list[tuple[str, str | None]]:
    """The platform events the execution's actions made, with their action keys."""
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT event_type, action_key FROM platform_events"
                " WHERE causation_execution_id = :id ORDER BY occurred_at, id"
            ),
            {"id": uuid.UUID(execution_id)},
        )
        return [(row.event_type, row.action_key) for row in rows]


async def _receiver_keys(runtime: Runtime, execution_id: str) -> list[str]:
    async with runtime.engine.connect() as connection:
        rows = await connection.scalars(
            text("SELECT key FROM receiver_idempotency_keys WHERE flow_execution_id = :id"),
            {"id": uuid.UUID(execution_id)},
        )
        return sorted(rows)


class TestFromFailed:
    async def test_the_succeeded_action_is_reused_not_performed_again(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(shop, flow_definition=BROKEN)
        await shop.http.post("/api/customers", json={"name": "Ann", "email": "ann@example.com"})
        listed = await eventually(
            lambda: shop.http.get(EXECUTIONS_PATH),
            lambda r: bool(r.json()["items"]) and _ended(r.json()["items"][0]),
            "the first run",
        )
        original = listed.json()["items"][0]
        assert original["status"] == "completed_with_errors", original
        assert await _counts(shop) == (1, 0)
        fixed = await shop.http.put(f"{FLOWS_PATH}/{flow['id']}", json={"flow_definition": FIXED})
        assert fixed.status_code == 200, fixed.text

        rerun_id = await _rerun(shop, original["id"], from_failed=True)

        rerun = await eventually(lambda: _execution(shop, rerun_id), _ended, "the re-run")
        assert rerun["status"] == "completed", rerun
        assert rerun["rerun_of"] == original["id"]
        assert rerun["flow_version"] == 2
        assert rerun["trigger_data"] == original["trigger_data"]
        assert await _counts(shop) == (1, 1)  # exactly one email, ever
        hello, call = rerun["steps"]
        assert (hello["id"], hello["reused"], hello["success"]) == ("hello", True, True)
        assert hello["payload"]["to"] == "ann@example.com"
        assert (call["id"], call["success"], call.get("reused")) == ("call", True, None)
        results = {r["step_id"]: r for r in rerun["execution_results"]}
        assert results["hello"]["reused"] is True
        assert "reused" not in results["call"]
        assert [e["action_type"] for e in rerun["events"]] == ["create_task"]
        # the re-run's action carries a key of its own execution; the reused one sent nothing
        assert await _caused_events(system.runtime, rerun_id) == [
            ("task.created", action_key(uuid.UUID(rerun_id), f"{rerun_id}:call", 0))
        ]
        if system.over_http:
            assert await _receiver_keys(system.runtime, rerun_id) == [f"{rerun_id}:call"]
            assert await _receiver_keys(system.runtime, original["id"]) == [
                f"{original['id']}:hello"
            ]

        # the whole flow again: everything performed anew, nothing reused
        again_id = await _rerun(shop, original["id"], from_failed=False)
        again = await eventually(lambda: _execution(shop, again_id), _ended, "the plain re-run")
        assert again["status"] == "completed", again
        assert again["rerun_of"] == original["id"]
        assert not any(step.get("reused") for step in again["steps"])
        assert await _counts(shop) == (2, 2)
        assert [event_type for event_type, _ in await _caused_events(system.runtime, again_id)] == [
            "notification.sent",
            "task.created",
        ]

    async def test_inside_a_loop_after_a_wait(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        """The original waits (resumed by hand), then fails at the loop's second item; the
        re-run passes the wait at once and performs only that item."""

        def definition(due_date: str) -> dict[str, Any]:
            per_item = {
                "id": "per_item",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": "{{item.title}}", "due_date": due_date},
            }
            return {
                "steps": [
                    HELLO,
                    {"id": "pause", "type": "wait", "duration": "365 days"},
                    {
                        "id": "each",
                        "type": "for_each",
                        "items": "trigger.items",
                        "steps": [per_item],
                    },
                ]
            }

        flow = await make_flow(shop, status="draft", flow_definition=definition("{{item.due}}"))
        payload = {
            "name": "Bo",
            "email": "bo@example.com",
            "items": [
                {"title": "A", "due": "2030-01-01T00:00:00Z"},
                {"title": "B", "due": "whenever"},
                {"title": "C", "due": "2030-01-02T00:00:00Z"},
            ],
        }
        started = await shop.http.post(f"{FLOWS_PATH}/{flow['id']}/run", json={"payload": payload})
        original_id = started.json()["execution_id"]
        await eventually(lambda: _execution(shop, original_id), _status("waiting"), "the wait")
        resumed = await shop.http.post(f"{EXECUTIONS_PATH}/{original_id}/resume")
        assert resumed.status_code == 202
        original = await eventually(lambda: _execution(shop, original_id), _ended, "the end")
        assert original["status"] == "completed_with_errors", original
        assert await _counts(shop) == (1, 2)
        await shop.http.put(
            f"{FLOWS_PATH}/{flow['id']}", json={"flow_definition": definition("{{now + 1 day}}")}
        )

        rerun_id = await _rerun(shop, original_id, from_failed=True)

        # a wait that was waited again would leave it `waiting` for a year
        rerun = await eventually(lambda: _execution(shop, rerun_id), _ended, "the re-run")
        assert rerun["status"] == "completed", rerun
        assert await _counts(shop) == (1, 3)
        titles = sorted(t["title"] for t in (await shop.http.get("/api/tasks")).json()["items"])
        assert titles == ["A", "B", "C"]
        reused = [(s["id"], s.get("iteration")) for s in rerun["steps"] if s.get("reused")]
        assert reused == [("hello", None), ("per_item", 1), ("per_item", 3)]
        pause = next(step for step in rerun["steps"] if step["id"] == "pause")
        assert pause["waited"] is True
        assert [e["payload"]["title"] for e in rerun["events"]] == ["B"]


class TestRefusals:
    async def test_from_failed_needs_a_failure_and_the_tenant_and_the_flow(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(shop, status="draft")
        payload = {"name": "Cy", "email": "cy@example.com"}
        started = await shop.http.post(f"{FLOWS_PATH}/{flow['id']}/run", json={"payload": payload})
        execution_id = started.json()["execution_id"]
        await eventually(lambda: _execution(shop, execution_id), _status("completed"), "the run")

        refused = await shop.http.post(
            f"{EXECUTIONS_PATH}/{execution_id}/rerun", json={"from_failed": True}
        )
        assert refused.status_code == 409
        assert "completed" in refused.json()["detail"]

        other = await system.make_tenant()
        hidden = await other.http.post(f"{EXECUTIONS_PATH}/{execution_id}/rerun", json={})
        assert hidden.status_code == 404
        bad = await shop.http.post(
            f"{EXECUTIONS_PATH}/{execution_id}/rerun", json={"from_failed": "maybe"}
        )
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["body", "from_failed"]

        assert (await shop.http.delete(f"{FLOWS_PATH}/{flow['id']}")).status_code == 204
        orphan = await shop.http.post(f"{EXECUTIONS_PATH}/{execution_id}/rerun", json={})
        assert orphan.status_code == 404
        assert "deleted" in orphan.json()["detail"]
