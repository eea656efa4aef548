"""`/api/tasks`: create, read, assign, list, tenancy, validation and events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from bettercallsold.platform.tasks.models import StaffTask
from bettercallsold.runtime import Runtime
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.platform.helpers import (
    assert_event_carries,
    assert_pages_through,
    assert_plain_error,
    assert_unprocessable,
    column_value,
    count_rows,
    create,
    events_of,
    only_event,
)


async def create_task(tenant: TenantHandle, **overrides: Any) -> dict[str, Any]:
    return await create(tenant.http, "/api/tasks", {"title": "Follow up with John", **overrides})


class TestCreateTask:
    async def test_answers_201_with_an_open_task(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post(
            "/api/tasks",
            json={
                "title": "Follow up with John",
                "description": "Call about the order",
                "due_date": "2026-12-01T10:00:00Z",
                "assignee": "ann",
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert uuid.UUID(body["id"])
        assert body["title"] == "Follow up with John"
        assert body["description"] == "Call about the order"
        assert body["assignee"] == "ann"
        assert body["status"] == "open"
        assert datetime.fromisoformat(body["due_date"]) == datetime(2026, 12, 1, 10, tzinfo=UTC)

    async def test_a_due_date_with_an_offset_keeps_its_instant(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        task = await create_task(tenant, due_date="2026-12-01T12:00:00+02:00")
        expected = datetime(2026, 12, 1, 10, tzinfo=UTC)
        assert datetime.fromisoformat(task["due_date"]) == expected
        assert await column_value(runtime, StaffTask.due_date, task["id"]) == expected

    async def test_only_the_title_is_required(self, tenant: TenantHandle) -> None:
        task = await create_task(tenant)
        assert (task["description"], task["due_date"], task["assignee"]) == (None, None, None)

    async def test_emits_task_created(self, tenant: TenantHandle, runtime: Runtime) -> None:
        task = await create_task(tenant, due_date="2026-12-01T10:00:00Z")
        event = await only_event(runtime, tenant.tenant_id, "task.created")
        assert_event_carries(event, task, "task_id")

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({}, ["body", "title"]),
            ({"title": ""}, ["body", "title"]),
            ({"title": {"text": "x"}}, ["body", "title"]),
            ({"title": "T", "due_date": "tomorrow"}, ["body", "due_date"]),
            # Not seconds since 1970: a number is a mistake, not a date in 1970.
            ({"title": "T", "due_date": 5}, ["body", "due_date"]),
            ({"title": "T", "due_date": 1795665870.5}, ["body", "due_date"]),
            ({"title": "T", "due_date": "1795665870"}, ["body", "due_date"]),
            ({"title": "T", "due_date": True}, ["body", "due_date"]),
            ({"title": "T", "due_date": "2026-12-01"}, ["body", "due_date"]),
            ({"title": "T", "due_date": "2026-12-01T10:00:00"}, ["body", "due_date"]),
            ({"title": "T", "due_date": "9999-12-31T23:59:59-23:59"}, ["body", "due_date"]),
            ({"title": "T", "due_date": "0001-01-01T00:00:00+10:00"}, ["body", "due_date"]),
            ({"title": "T", "assignee": ""}, ["body", "assignee"]),
            ({"title": "T\x00"}, ["body", "title"]),
            ({"title": "T", "priority": "high"}, ["body", "priority"]),
        ],
    )
    async def test_a_bad_body_is_422_naming_the_field_and_stores_nothing(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str]
    ) -> None:
        assert_unprocessable(await tenant.http.post("/api/tasks", json=body), loc)
        assert await count_rows(runtime, StaffTask, tenant.tenant_id) == 0
        assert await events_of(runtime, tenant.tenant_id) == []


class TestReadTask:
    async def test_answers_200_with_the_task(self, tenant: TenantHandle) -> None:
        task = await create_task(tenant)
        response = await tenant.http.get(f"/api/tasks/{task['id']}")
        assert response.status_code == 200
        assert response.json() == task

    async def test_an_unknown_id_is_404(self, tenant: TenantHandle) -> None:
        assert_plain_error(await tenant.http.get(f"/api/tasks/{uuid.uuid4()}"), 404)


class TestAssignTask:
    async def test_answers_200_with_the_assigned_task(self, tenant: TenantHandle) -> None:
        task = await create_task(tenant)
        response = await tenant.http.post(
            f"/api/tasks/{task['id']}/assign", json={"assignee": "bo"}
        )
        assert response.status_code == 200, response.text
        assigned = response.json()
        assert assigned["assignee"] == "bo"
        assert (assigned["id"], assigned["title"]) == (task["id"], task["title"])
        assert (await tenant.http.get(f"/api/tasks/{task['id']}")).json() == assigned

    async def test_emits_task_assigned(self, tenant: TenantHandle, runtime: Runtime) -> None:
        task = await create_task(tenant, assignee="ann")
        response = await tenant.http.post(
            f"/api/tasks/{task['id']}/assign", json={"assignee": "bo"}
        )
        event = await only_event(runtime, tenant.tenant_id, "task.assigned")
        assert_event_carries(event, response.json(), "task_id")
        assert event.payload["assignee"] == "bo"

    @pytest.mark.parametrize("body", [{}, {"assignee": ""}, {"assignee": 3}, {"who": "bo"}])
    async def test_a_bad_body_is_422_and_changes_nothing(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any]
    ) -> None:
        task = await create_task(tenant, assignee="ann")
        response = await tenant.http.post(f"/api/tasks/{task['id']}/assign", json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][0] == "body"
        assert await column_value(runtime, StaffTask.assignee, task["id"]) == "ann"
        assert await events_of(runtime, tenant.tenant_id, "task.assigned") == []

    async def test_an_unknown_task_is_404(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post(
            f"/api/tasks/{uuid.uuid4()}/assign", json={"assignee": "bo"}
        )
        assert_plain_error(response, 404)


class TestListTasks:
    async def test_pages_through_every_task_once(self, tenant: TenantHandle) -> None:
        created = [await create_task(tenant, title=f"T{i}") for i in range(6)]
        await assert_pages_through(tenant.http, "/api/tasks", created, limit=4)


class TestAnotherTenantsTask:
    async def test_is_invisible_and_unassignable(
        self, make_tenant: MakeTenant, runtime: Runtime
    ) -> None:
        owner, other = await make_tenant(), await make_tenant()
        task = await create_task(owner)
        assert_plain_error(await other.http.get(f"/api/tasks/{task['id']}"), 404)
        response = await other.http.post(f"/api/tasks/{task['id']}/assign", json={"assignee": "x"})
        assert_plain_error(response, 404)
        assert (await other.http.get("/api/tasks")).json()["items"] == []
        assert (await owner.http.get(f"/api/tasks/{task['id']}")).json() == task
        assert await events_of(runtime, other.tenant_id) == []
        assert await events_of(runtime, owner.tenant_id, "task.assigned") == []
