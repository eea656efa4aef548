"""Flows, part 2, through the API with a real worker: waits (resumed by their scheduled job or
by "Resume now", cancelled with their flow), "Run now", and schedules (validation, the tick
shared by several workers, late and daylight-saving due times)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bettercallsold.automation import runner, schedules
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import EXECUTIONS_PATH, FLOWS_PATH, MakeFlow
from tests.integration.conftest import TenantHandle
from tests.integration.remote import System

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str) -> T:
    deadline = time.monotonic() + 30
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; last seen: {value!r}")
        await asyncio.sleep(0.05)


def email_wait_task(wait: dict[str, Any]) -> dict[str, Any]:
    return {
        "steps": [
            {
                "id": "hello",
                "type": "action",
                "action_type": "send_email",
                "payload_template": {"to": "{{trigger.email}}", "subject": "Hi", "template": "w"},
            },
            {"id": "pause", "type": "wait", **wait},
            {
                "id": "later",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": "resumed at {{now}}"},
            },
        ]
    }


async def _executions(tenant: TenantHandle) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await tenant.http.get(EXECUTIONS_PATH)).json()["items"]
    return items


def _status(status: str) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda found: bool(found) and found[0]["status"] == status


@pytest.fixture
async def shop(system: System) -> TenantHandle:
    """A tenant of the system under test, in each mode."""
    return await system.make_tenant()


class TestWaits:
    async def test_a_wait_ends_by_itself_and_nothing_is_done_twice(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(shop, flow_definition=email_wait_task({"duration": "2 seconds"}))
        await shop.http.post("/api/customers", json={"name": "Ann", "email": "a@example.com"})
        waiting = await eventually(lambda: _executions(shop), _status("waiting"), "a wait")
        assert waiting[0]["resume_at"] is not None
        assert [s["id"] for s in waiting[0]["steps"]] == ["hello", "pause"]
        done = await eventually(lambda: _executions(shop), _status("completed"), "the end")
        assert [s["id"] for s in done[0]["steps"]] == ["hello", "pause", "later"]
        notifications = (await shop.http.get("/api/notifications")).json()["items"]
        tasks = (await shop.http.get("/api/tasks")).json()["items"]
        assert (len(notifications), len(tasks)) == (1, 1)
        assert [event["action_type"] for event in done[0]["events"]] == [
            "send_email",
            "create_task",
        ]

    async def test_resume_now_and_409_when_not_waiting(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        await make_flow(shop, flow_definition=email_wait_task({"duration": "365 days"}))
        await shop.http.post("/api/customers", json={"name": "Bo", "email": "b@example.com"})
        [waiting] = await eventually(lambda: _executions(shop), _status("waiting"), "a wait")
        resumed = await shop.http.post(f"{EXECUTIONS_PATH}/{waiting['id']}/resume")
        assert resumed.status_code == 202, resumed.text
        [done] = await eventually(lambda: _executions(shop), _status("completed"), "the end")
        assert done["steps"][1]["waited"] is True
        again = await shop.http.post(f"{EXECUTIONS_PATH}/{waiting['id']}/resume")
        assert again.status_code == 409
        assert "completed" in again.json()["detail"]
        other = await system.make_tenant()
        assert (
            await other.http.post(f"{EXECUTIONS_PATH}/{waiting['id']}/resume")
        ).status_code == 404

    async def test_pausing_the_flow_cancels_its_waiting_executions(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(shop, flow_definition=email_wait_task({"duration": "3 days"}))
        await shop.http.post("/api/customers", json={"name": "Cy", "email": "c@example.com"})
        await eventually(lambda: _executions(shop), _status("waiting"), "a wait")
        paused = await shop.http.put(f"{FLOWS_PATH}/{flow['id']}", json={"status": "paused"})
        assert paused.status_code == 200
        [cancelled] = await _executions(shop)
        assert cancelled["status"] == "cancelled"
        assert cancelled["completed_at"] is not None


class TestRunNow:
    async def test_runs_a_draft_on_given_data(
        self, system: System, shop: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(shop, status="draft")
        payload = {"name": "Dee", "email": "dee@example.com"}
        started = await shop.http.post(f"{FLOWS_PATH}/{flow['id']}/run", json={"payload": payload})
        assert started.status_code == 202, started.text
        execution_id = started.json()["execution_id"]
        [done] = await eventually(lambda: _executions(shop), _status("completed"), "the run")
        assert done["id"] == execution_id
        assert done["trigger_data"] == payload
        other = await system.make_tenant()
        refused = await other.http.post(f"{FLOWS_PATH}/{flow['id']}/run", json={"payload": {}})
        assert refused.status_code == 404


ACTION = {
    "id": "report",
    "type": "action",
    "action_type": "create_task",
    "payload_template": {"title": "Unpaid orders as of {{trigger.scheduled_at}}"},
}


def scheduled(cron: str = "0 9 * * 1", timezone: str = "Europe/Paris") -> dict[str, Any]:
    return {
        "name": "Monday report",
        "trigger_event": "schedule",
        "schedule": {"cron": cron, "timezone": timezone},
        "flow_definition": {"steps": [ACTION]},
    }


class TestSchedules:
    @pytest.mark.parametrize(
        ("schedule", "field"),
        [
            ({"cron": "0 9 * *", "timezone": "UTC"}, "cron"),
            ({"cron": "61 9 * * 1", "timezone": "UTC"}, "cron"),
            ({"cron": "0 9 * * 1", "timezone": "Mars/Olympus"}, "timezone"),
            (None, None),
        ],
    )
    async def test_a_bad_schedule_is_a_422_naming_the_field(
        self, tenant: TenantHandle, schedule: Any, field: str | None
    ) -> None:
        body = {**scheduled(), "schedule": schedule}
        response = await tenant.http.post(FLOWS_PATH, json=body)
        assert response.status_code == 422, response.text
        locations = [detail["loc"] for detail in response.json()["detail"]]
        expected = ["body", "schedule"] + ([field] if field else [])
        assert expected in locations

    async def test_a_schedule_belongs_to_scheduled_flows_only(self, tenant: TenantHandle) -> None:
        body = {**scheduled(), "trigger_event": "order.created"}
        response = await tenant.http.post(FLOWS_PATH, json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "schedule"]

    async def test_the_next_run_is_computed_in_the_time_zone(self, tenant: TenantHandle) -> None:
        created = await tenant.http.post(FLOWS_PATH, json=scheduled())
        assert created.status_code == 201, created.text
        flow = created.json()
        due = datetime.fromisoformat(flow["next_run_at"])
        local = due.astimezone(ZoneInfo("Europe/Paris"))
        assert (local.weekday(), local.hour, local.minute) == (0, 9, 0)
        paused = await tenant.http.put(f"{FLOWS_PATH}/{flow['id']}", json={"status": "paused"})
        assert paused.json()["next_run_at"] is None


async def _due_now(runtime: Runtime, flow_id: str, due: datetime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE automation_flows SET next_run_at = :due WHERE id = :id"),
            {"due": due, "id": uuid.UUID(flow_id)},
        )


async def _tick(runtime: Runtime, now: datetime) -> int:
    async with runtime.sessionmaker() as session, session.begin():
        result = await schedules.tick(
            session, now, queue=runner.EXECUTIONS_QUEUE, task=runner.RUN_EXECUTION_TASK
        )
    return result.started


class TestTheTick:
    async def test_three_workers_ticking_at_once_start_one_execution(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        yearly = scheduled("0 0 1 1 *", "UTC")  # one due time, then none for a year
        flow = (await tenant.http.post(FLOWS_PATH, json=yearly)).json()
        due = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        for _ in range(3):  # again and again: the same due time never starts twice
            await _due_now(runtime, flow["id"], due)
            started = await asyncio.gather(*(_tick(runtime, datetime.now(UTC)) for _ in range(3)))
            assert sum(started) <= 1
        rows = (await tenant.http.get(EXECUTIONS_PATH, params={"flow_id": flow["id"]})).json()[
            "items"
        ]
        assert len(rows) == 1
        assert rows[0]["trigger_data"] == {"scheduled_at": due.isoformat().replace("+00:00", "Z")}
        after = (await tenant.http.get(f"{FLOWS_PATH}/{flow['id']}")).json()
        assert datetime.fromisoformat(after["next_run_at"]) > datetime.now(UTC)

    async def test_a_due_time_more_than_an_hour_late_is_skipped(
        self, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        flow = (await tenant.http.post(FLOWS_PATH, json=scheduled("0 * * * *", "UTC"))).json()
        now = datetime.now(UTC)
        await _due_now(runtime, flow["id"], now - timedelta(hours=5))
        started = await _tick(runtime, now)
        assert started == 1  # only the due time within the last hour
        rows = (await tenant.http.get(EXECUTIONS_PATH, params={"flow_id": flow["id"]})).json()[
            "items"
        ]
        scheduled_at = datetime.fromisoformat(rows[0]["trigger_data"]["scheduled_at"])
        assert now - scheduled_at < timedelta(hours=1)


class TestDaylightSaving:
    def test_a_spring_forward_0230_runs_once(self) -> None:
        schedule = schedules.Schedule("30 2 * * *", "Europe/Paris")
        start = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
        times = schedule.upcoming(start, 3)
        # 02:30 does not exist on 29 March: it runs once, at 03:00 local (01:00 UTC).
        assert times == [
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            datetime(2026, 3, 30, 0, 30, tzinfo=UTC),
            datetime(2026, 3, 31, 0, 30, tzinfo=UTC),
        ]

    def test_a_fall_back_0230_runs_once(self) -> None:
        schedule = schedules.Schedule("30 2 * * *", "Europe/Paris")
        times = schedule.upcoming(datetime(2026, 10, 24, 12, 0, tzinfo=UTC), 2)
        assert times == [
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # 02:30 CEST, the first of the two
            datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
        ]

    def test_the_tick_plan_starts_each_due_time_once(self) -> None:
        schedule = schedules.Schedule("30 2 * * *", "Europe/Paris")
        due = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
        plan = schedules.plan_due(schedule, due, due + timedelta(minutes=1))
        assert plan.start == [due]
        assert plan.next_run_at == datetime(2026, 3, 30, 0, 30, tzinfo=UTC)
