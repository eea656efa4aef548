"""The flow storage API: create, list, filter, get, update, pause/activate, delete, 422s."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import httpx
import pytest

from tests.integration.automation.conftest import FLOWS_PATH, MakeFlow, welcome_flow
from tests.integration.conftest import MakeTenant, TenantHandle


def _with_step(index: int, **changes: Any) -> dict[str, Any]:
    body = welcome_flow()
    body["flow_definition"]["steps"][index].update(changes)
    return body


class TestCreateFlow:
    async def test_the_contract_example_is_stored_as_written(self, tenant: TenantHandle) -> None:
        body = welcome_flow()
        response = await tenant.http.post(FLOWS_PATH, json=body)
        assert response.status_code == 201, response.text
        flow = response.json()
        assert set(flow) >= {"id", "name", "trigger_event", "flow_definition", "status"}
        assert flow["flow_definition"] == body["flow_definition"]
        assert flow["status"] == "active"
        assert flow["created_at"]
        assert flow["updated_at"]

    async def test_status_may_be_given(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post(FLOWS_PATH, json={**welcome_flow(), "status": "paused"})
        assert response.json()["status"] == "paused"

    async def test_needs_a_tenant_token(self, client: httpx.AsyncClient) -> None:
        assert (await client.post(FLOWS_PATH, json=welcome_flow())).status_code == 401
        assert (await client.get(FLOWS_PATH)).status_code == 401
        bad = {"Authorization": "Bearer bcs_nope"}
        assert (await client.get(FLOWS_PATH, headers=bad)).status_code == 401


def _locs(response: httpx.Response) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    details = response.json()["detail"]
    assert all(d["msg"] for d in details)
    return [d["loc"] for d in details]


class TestInvalidFlows:
    """Every kind of problem is a 422 whose `loc` names the step id and the field."""

    @pytest.mark.parametrize(
        ("index", "changes", "expected"),
        [
            (0, {"type": "loop"}, ["condition_1", "type"]),
            (0, {"operator": "resembles"}, ["condition_1", "operator"]),
            (1, {"action_type": "launch_rocket"}, ["action_1", "action_type"]),
            (
                1,
                {"payload_template": {"subject": "Hi"}},
                ["action_1", "payload_template", "to"],
            ),
            (
                1,
                {"payload_template": {"to": "{{trigger.email", "subject": "Hi"}},
                ["action_1", "payload_template", "to"],
            ),
            (
                1,
                {"payload_template": {"to": "{{customer.email}}", "subject": "Hi"}},
                ["action_1", "payload_template", "to"],
            ),
            (1, {"id": "condition_1"}, ["condition_1", "id"]),
        ],
        ids=[
            "unknown-step-type",
            "unknown-operator",
            "unknown-action-type",
            "payload-misses-a-required-field",
            "template-does-not-parse",
            "template-names-an-unknown-root",
            "duplicate-step-id",
        ],
    )
    async def test_names_the_step_and_the_field(
        self, tenant: TenantHandle, index: int, changes: dict[str, Any], expected: list[str]
    ) -> None:
        response = await tenant.http.post(FLOWS_PATH, json=_with_step(index, **changes))
        locs = _locs(response)
        assert ["body", "flow_definition", "steps", *expected] in locs, locs
        assert response.json()["detail"][0]["type"] == "flow_definition"

    async def test_a_later_step_output_cannot_be_used(self, tenant: TenantHandle) -> None:
        body = _with_step(1, payload_template={"to": "{{steps.action_2.id}}", "subject": "x"})
        locs = _locs(await tenant.http.post(FLOWS_PATH, json=body))
        assert ["body", "flow_definition", "steps", "action_1", "payload_template", "to"] in locs

    async def test_an_unknown_event_type_names_the_trigger(self, tenant: TenantHandle) -> None:
        body = {**welcome_flow(), "trigger_event": "customer.exploded"}
        assert ["body", "trigger_event"] in _locs(await tenant.http.post(FLOWS_PATH, json=body))

    async def test_every_problem_is_listed(self, tenant: TenantHandle) -> None:
        body = welcome_flow()
        body["flow_definition"]["steps"][0]["operator"] = "resembles"
        body["flow_definition"]["steps"][2]["action_type"] = "launch_rocket"
        locs = _locs(await tenant.http.post(FLOWS_PATH, json=body))
        assert ["body", "flow_definition", "steps", "condition_1", "operator"] in locs
        assert ["body", "flow_definition", "steps", "action_2", "action_type"] in locs

    async def test_no_steps(self, tenant: TenantHandle) -> None:
        body = {**welcome_flow(), "flow_definition": {"steps": []}}
        assert ["body", "flow_definition", "steps"] in _locs(
            await tenant.http.post(FLOWS_PATH, json=body)
        )

    async def test_an_unknown_status_is_refused(self, tenant: TenantHandle) -> None:
        body = {**welcome_flow(), "status": "sleeping"}
        assert ["body", "status"] in _locs(await tenant.http.post(FLOWS_PATH, json=body))

    async def test_nothing_is_stored(self, tenant: TenantHandle) -> None:
        await tenant.http.post(FLOWS_PATH, json=_with_step(0, operator="resembles"))
        assert (await tenant.http.get(FLOWS_PATH)).json()["items"] == []


class TestListFlows:
    async def test_newest_first_with_filters_and_pages(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        welcome = await make_flow(tenant)
        paused = await make_flow(tenant, name="Paused", status="paused")
        other = welcome_flow()
        other["trigger_event"] = "customer.updated"
        updated = await make_flow(tenant, **{**other, "name": "On update"})

        everything = (await tenant.http.get(FLOWS_PATH)).json()
        assert [f["id"] for f in everything["items"]] == [
            updated["id"],
            paused["id"],
            welcome["id"],
        ]
        assert everything["next_cursor"] is None
        assert everything["items"][0]["run_count"] == 0

        active = (await tenant.http.get(FLOWS_PATH, params={"status": "active"})).json()
        assert {f["id"] for f in active["items"]} == {welcome["id"], updated["id"]}
        by_event = await tenant.http.get(FLOWS_PATH, params={"trigger_event": "customer.updated"})
        assert [f["id"] for f in by_event.json()["items"]] == [updated["id"]]

        first = (await tenant.http.get(FLOWS_PATH, params={"limit": 2})).json()
        assert len(first["items"]) == 2
        assert first["next_cursor"]
        rest = await tenant.http.get(
            FLOWS_PATH, params={"limit": 2, "cursor": first["next_cursor"]}
        )
        assert [f["id"] for f in rest.json()["items"]] == [welcome["id"]]

    async def test_only_the_tenants_own(
        self, tenant: TenantHandle, make_tenant: MakeTenant, make_flow: MakeFlow
    ) -> None:
        await make_flow(tenant)
        stranger = await make_tenant()
        assert (await stranger.http.get(FLOWS_PATH)).json()["items"] == []

    async def test_a_bad_cursor_is_a_422(self, tenant: TenantHandle) -> None:
        response = await tenant.http.get(FLOWS_PATH, params={"cursor": "garbage"})
        assert response.status_code == 422


class TestOneFlow:
    async def test_get_update_pause_activate_delete(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        path = f"{FLOWS_PATH}/{flow['id']}"
        assert (await tenant.http.get(path)).json() == flow

        renamed = await tenant.http.put(path, json={"name": "Hello"})
        assert renamed.status_code == 200, renamed.text
        assert renamed.json()["name"] == "Hello"
        assert renamed.json()["flow_definition"] == flow["flow_definition"]

        paused = await tenant.http.put(path, json={"status": "paused"})
        assert paused.json()["status"] == "paused"
        assert (await tenant.http.post(f"{path}/activate")).json()["status"] == "active"
        assert (await tenant.http.post(f"{path}/pause")).json()["status"] == "paused"

        full = welcome_flow()
        full["flow_definition"]["steps"] = full["flow_definition"]["steps"][1:]
        replaced = await tenant.http.put(path, json=full)
        assert replaced.json()["flow_definition"] == full["flow_definition"]
        assert replaced.json()["status"] == "active"

        deleted = await tenant.http.delete(path)
        assert deleted.status_code == 204
        assert (await tenant.http.get(path)).status_code == 404

    async def test_an_invalid_update_changes_nothing(
        self, tenant: TenantHandle, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        path = f"{FLOWS_PATH}/{flow['id']}"
        definition = copy.deepcopy(flow["flow_definition"])
        definition["steps"][1]["action_type"] = "launch_rocket"
        response = await tenant.http.put(path, json={"flow_definition": definition})
        assert ["body", "flow_definition", "steps", "action_1", "action_type"] in _locs(response)
        event = await tenant.http.put(path, json={"trigger_event": "nope"})
        assert ["body", "trigger_event"] in _locs(event)
        assert (await tenant.http.get(path)).json() == flow

    async def test_another_tenants_flow_is_a_404(
        self, tenant: TenantHandle, make_tenant: MakeTenant, make_flow: MakeFlow
    ) -> None:
        flow = await make_flow(tenant)
        stranger = await make_tenant()
        path = f"{FLOWS_PATH}/{flow['id']}"
        assert (await stranger.http.get(path)).status_code == 404
        assert (await stranger.http.put(path, json={"name": "mine"})).status_code == 404
        assert (await stranger.http.post(f"{path}/pause")).status_code == 404
        assert (await stranger.http.post(f"{path}/test", json={})).status_code == 404
        assert (await stranger.http.delete(path)).status_code == 404
        assert (await tenant.http.get(path)).json() == flow

    async def test_a_missing_flow_is_a_404(self, tenant: TenantHandle) -> None:
        response = await tenant.http.get(f"{FLOWS_PATH}/{uuid.uuid4()}")
        assert response.status_code == 404
        assert response.json() == {"detail": "Flow not found."}
