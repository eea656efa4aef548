"""Flow versions and drafts: a version per content change (never per status change), the
versions list/read/restore, executions recording their version, drafts never started."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx

from bettercallsold.automation import runner
from bettercallsold.runtime import Runtime
from tests.integration.automation.conftest import (
    EXECUTIONS_PATH,
    FLOWS_PATH,
    MakeFlow,
    SendEvent,
    StubReceiver,
    executions_for_event,
    welcome_flow,
)
from tests.integration.conftest import MakeTenant, TenantHandle


def _versions_path(flow: dict[str, Any]) -> str:
    return f"{FLOWS_PATH}/{flow['id']}/versions"


def _without_task() -> dict[str, Any]:
    """The welcome flow's definition with its second action (the follow-up task) dropped."""
    definition: dict[str, Any] = copy.deepcopy(welcome_flow()["flow_definition"])
    definition["steps"] = definition["steps"][:2]
    return definition


async def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _version_numbers(tenant: TenantHandle, flow: dict[str, Any]) -> list[int]:
    page = await _ok(await tenant.http.get(_versions_path(flow)))
    return [item["version"] for item in page["items"]]


class TestVersionNumbers:
    async def test_a_create_is_version_1(self, tenant: TenantHandle, make_flow: MakeFlow) -> None:
        flow = await make_flow(tenant)
        assert flow["version"] == 1
        [first] = (await _ok(await tenant.http.get(_versions_path(flow))))["items"]
        assert first["version"] == 1
        assert first["name"] == flow["name"]
        assert first["trigger_event"] == "customer.created"
        assert first["flow_definition"] == welcome_flow()["flow_definition"]
        assert first["created_at"]

    async def test_each_content_change_is_a_new_version(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        path = f"{FLOWS_PATH}/{flow['id']}"
        renamed = await _ok(await tenant.http.put(path, json={"name": "Hello"}))
        assert renamed["version"] == 2
        retriggered = await _ok(
            await tenant.http.put(path, json={"trigger_event": "customer.updated"})
        )
        assert retriggered["version"] == 3
        redefined = await _ok(
            await tenant.http.put(path, json={"flow_definition": _without_task()})
        )
        assert redefined["version"] == 4
        assert await _version_numbers(tenant, flow) == [4, 3, 2, 1]
        assert (await _ok(await tenant.http.get(path)))["version"] == 4

    async def test_status_changes_and_equal_values_make_no_version(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        path = f"{FLOWS_PATH}/{flow['id']}"
        paused = await _ok(await tenant.http.post(f"{path}/pause"))
        activated = await _ok(await tenant.http.post(f"{path}/activate"))
        by_put = await _ok(await tenant.http.put(path, json={"status": "draft"}))
        # An editor saving every field unchanged (the definition as stored) changes nothing.
        same = await _ok(await tenant.http.put(path, json={**welcome_flow(), "status": "active"}))
        assert [paused["version"], activated["version"], by_put["version"], same["version"]] == [
            1,
            1,
            1,
            1,
        ]
        assert await _version_numbers(tenant, flow) == [1]

    async def test_an_invalid_update_makes_no_version(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        broken = {"steps": [{"id": "x", "type": "action", "action_type": "launch_rocket"}]}
        response = await tenant.http.put(
            f"{FLOWS_PATH}/{flow['id']}", json={"flow_definition": broken}
        )
        assert response.status_code == 422
        assert await _version_numbers(tenant, flow) == [1]


class TestReadVersions:
    async def test_one_version_keeps_its_content_after_edits(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        path = f"{FLOWS_PATH}/{flow['id']}"
        await tenant.http.put(path, json={"name": "Renamed", "flow_definition": _without_task()})
        first = await _ok(await tenant.http.get(f"{_versions_path(flow)}/1"))
        second = await _ok(await tenant.http.get(f"{_versions_path(flow)}/2"))
        assert first["name"] == welcome_flow()["name"]
        assert first["flow_definition"] == welcome_flow()["flow_definition"]
        assert second["name"] == "Renamed"
        assert second["flow_definition"] == _without_task()

    async def test_an_unknown_version_is_a_json_404(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        for number in (0, 2, 99):
            response = await tenant.http.get(f"{_versions_path(flow)}/{number}")
            assert response.status_code == 404
            assert response.json() == {"detail": "Flow version not found."}
        restore = await tenant.http.post(f"{_versions_path(flow)}/7/restore")
        assert restore.status_code == 404
        assert (await tenant.http.get(f"{_versions_path(flow)}/one")).status_code == 422

    async def test_pages_newest_first_without_gaps(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        for n in range(2, 8):
            await tenant.http.put(f"{FLOWS_PATH}/{flow['id']}", json={"name": f"Name {n}"})
        seen: list[int] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": 3}
            if cursor:
                params["cursor"] = cursor
            page = await _ok(await tenant.http.get(_versions_path(flow), params=params))
            seen += [item["version"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [7, 6, 5, 4, 3, 2, 1]
        bad = await tenant.http.get(_versions_path(flow), params={"cursor": "nonsense"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["query", "cursor"]

    async def test_another_tenants_flow_is_a_404(
        self, tenant: TenantHandle, make_tenant: MakeTenant, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        stranger = await make_tenant()
        for response in (
            await stranger.http.get(_versions_path(flow)),
            await stranger.http.get(f"{_versions_path(flow)}/1"),
            await stranger.http.post(f"{_versions_path(flow)}/1/restore"),
            await tenant.http.get(f"{FLOWS_PATH}/{uuid.uuid4()}/versions"),
        ):
            assert response.status_code == 404
            assert response.json() == {"detail": "Flow not found."}
        assert await _version_numbers(tenant, flow) == [1]

    async def test_needs_a_tenant_token(self, client: httpx.AsyncClient) -> None:
        path = f"{FLOWS_PATH}/{uuid.uuid4()}/versions"
        assert (await client.get(path)).status_code == 401
        assert (await client.post(f"{path}/1/restore")).status_code == 401


class TestRestore:
    async def test_restores_as_a_new_version_keeping_the_status(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant, status="paused")
        path = f"{FLOWS_PATH}/{flow['id']}"
        await tenant.http.put(path, json={"name": "Renamed", "flow_definition": _without_task()})
        await tenant.http.put(path, json={"trigger_event": "customer.updated"})

        restored = await _ok(await tenant.http.post(f"{_versions_path(flow)}/1/restore"))

        assert restored["version"] == 4
        assert restored["status"] == "paused"
        assert restored["name"] == welcome_flow()["name"]
        assert restored["trigger_event"] == "customer.created"
        assert restored["flow_definition"] == welcome_flow()["flow_definition"]
        assert await _ok(await tenant.http.get(path)) == restored
        fourth = await _ok(await tenant.http.get(f"{_versions_path(flow)}/4"))
        assert fourth["flow_definition"] == welcome_flow()["flow_definition"]
        # History is kept as it was: version 2 still holds the edit that was undone.
        second = await _ok(await tenant.http.get(f"{_versions_path(flow)}/2"))
        assert second["name"] == "Renamed"
        assert await _version_numbers(tenant, flow) == [4, 3, 2, 1]

    async def test_restoring_the_current_content_still_makes_a_version(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        restored = await _ok(await tenant.http.post(f"{_versions_path(flow)}/1/restore"))
        assert restored["version"] == 2
        assert await _version_numbers(tenant, flow) == [2, 1]


async def _start(
    runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, payload: dict[str, Any]
) -> list[uuid.UUID]:
    response = await send_event(tenant.tenant_id, "customer.created", payload)
    assert response.status_code == 202, response.text
    return await executions_for_event(runtime, response.json()["event_id"])


class TestExecutionsRecordTheirVersion:
    async def test_the_detail_keeps_the_old_versions_run_after_an_edit(
        self,
        runtime: Runtime,
        stub_receiver: tuple[Runtime, StubReceiver],
        send_event: SendEvent,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        stubbed, _stub = stub_receiver
        flow = await make_flow(tenant)
        payload = {"email": "a@b.c", "name": "A"}
        [old] = await _start(runtime, send_event, tenant, payload)
        await runner.run_execution(stubbed, old)

        edited = await tenant.http.put(
            f"{FLOWS_PATH}/{flow['id']}", json={"flow_definition": _without_task()}
        )
        assert edited.json()["version"] == 2
        [new] = await _start(runtime, send_event, tenant, payload)
        await runner.run_execution(stubbed, new)

        old_detail = await _ok(await tenant.http.get(f"{EXECUTIONS_PATH}/{old}"))
        new_detail = await _ok(await tenant.http.get(f"{EXECUTIONS_PATH}/{new}"))
        assert old_detail["flow_version"] == 1
        assert new_detail["flow_version"] == 2
        assert [step["id"] for step in old_detail["steps"]] == [
            "condition_1",
            "action_1",
            "action_2",
        ]
        assert [step["id"] for step in new_detail["steps"]] == ["condition_1", "action_1"]
        # The version an execution names still holds the definition it ran.
        version = await _ok(
            await tenant.http.get(f"{_versions_path(flow)}/{old_detail['flow_version']}")
        )
        assert [step["id"] for step in version["flow_definition"]["steps"]] == [
            "condition_1",
            "action_1",
            "action_2",
        ]
        listed = (await _ok(await tenant.http.get(EXECUTIONS_PATH)))["items"]
        assert {item["id"]: item["flow_version"] for item in listed} == {
            str(old): 1,
            str(new): 2,
        }


class TestDrafts:
    async def test_a_draft_is_validated_on_save(self, tenant: TenantHandle) -> None:
        body = {**welcome_flow(), "status": "draft"}
        body["flow_definition"] = {"steps": [{"id": "a", "type": "action", "action_type": "nope"}]}
        response = await tenant.http.post(FLOWS_PATH, json=body)
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][:4] == ["body", "flow_definition", "steps", "a"]

    async def test_a_draft_never_starts_on_an_event_until_published(
        self, runtime: Runtime, send_event: SendEvent, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        draft = await make_flow(tenant, status="draft")
        assert draft["status"] == "draft"
        listed = await tenant.http.get(FLOWS_PATH, params={"status": "draft"})
        assert [flow["id"] for flow in listed.json()["items"]] == [draft["id"]]

        assert await _start(runtime, send_event, tenant, {"email": "a@b.c", "name": "A"}) == []

        published = await _ok(await tenant.http.post(f"{FLOWS_PATH}/{draft['id']}/activate"))
        assert published["status"] == "active"
        assert published["version"] == 1  # publishing is a status change, not a version
        [started] = await _start(runtime, send_event, tenant, {"email": "b@b.c", "name": "B"})
        detail = await _ok(await tenant.http.get(f"{EXECUTIONS_PATH}/{started}"))
        assert detail["flow_id"] == draft["id"]
        assert detail["flow_version"] == 1

    async def test_the_catalogue_lists_the_draft_status(self, client: httpx.AsyncClient) -> None:
        catalogue = (await client.get("/plugins/automation/catalogue")).json()
        assert "draft" in catalogue["statuses"]
