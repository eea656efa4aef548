"""The UI's pages over the real APIs: flows, the builder, the test panel, monitoring."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.integration.conftest import TenantHandle

FLOWS = "/plugins/automation/flows"
HTMX = {"HX-Request": "true"}


def welcome_form(
    csrf: str, *, status: str = "active", to: str = "{{trigger.email}}"
) -> dict[str, Any]:
    """The builder's form for the contract's "Welcome New Customer" flow, steps in page order."""
    return {
        "csrf_token": csrf,
        "name": "Welcome New Customer",
        "trigger_event": "customer.created",
        "status": status,
        "step": ["a", "b", "c"],
        "a.id": "condition_1",
        "a.type": "condition",
        "a.field": "email",
        "a.operator": "exists",
        "a.value": "",
        "b.id": "action_1",
        "b.type": "action",
        "b.action_type": "send_email",
        "b.p.to": to,
        "b.p.subject": "Welcome {{trigger.name}}!",
        "b.p.template": "welcome_email",
        "c.id": "action_2",
        "c.type": "action",
        "c.action_type": "create_task",
        "c.p.title": "Follow up with {{trigger.name}}",
        "c.p.due_date": "{{now + 3 days}}",
    }


SEED_STEPS = [
    {"id": "condition_1", "type": "condition", "field": "email", "operator": "exists"},
    {
        "id": "action_1",
        "type": "action",
        "action_type": "send_email",
        "payload_template": {
            "to": "{{trigger.email}}",
            "subject": "Welcome {{trigger.name}}!",
            "template": "welcome_email",
        },
    },
    {
        "id": "action_2",
        "type": "action",
        "action_type": "create_task",
        "payload_template": {
            "title": "Follow up with {{trigger.name}}",
            "due_date": "{{now + 3 days}}",
        },
    },
]


async def _create_from_builder(http: httpx.AsyncClient, csrf: str) -> str:
    answer = await http.post("/flows", data=welcome_form(csrf), headers=HTMX)
    assert answer.status_code == 200, answer.text
    location = answer.headers["HX-Redirect"]
    found = re.fullmatch(r"/flows/([0-9a-f-]{36})\?saved=1", location)
    assert found, location
    return found.group(1)


class TestBuilder:
    async def test_the_builder_saves_the_seed_flow_exactly(
        self, logged_in: tuple[httpx.AsyncClient, str], tenant: TenantHandle
    ) -> None:
        http, csrf = logged_in
        flow_id = await _create_from_builder(http, csrf)
        stored = (await tenant.http.get(f"{FLOWS}/{flow_id}")).json()
        assert stored["flow_definition"] == {"steps": SEED_STEPS}
        assert stored["status"] == "active"
        page = await http.get(f"/flows/{flow_id}?saved=1")
        assert page.status_code == 200
        assert "Saved as active" in page.text
        assert 'value="{{trigger.email}}"' in page.text

    async def test_saving_the_page_back_changes_nothing(
        self, logged_in: tuple[httpx.AsyncClient, str], tenant: TenantHandle
    ) -> None:
        http, csrf = logged_in
        flow_id = await _create_from_builder(http, csrf)
        form = welcome_form(csrf, status="paused")
        answer = await http.post(f"/flows/{flow_id}", data=form, headers=HTMX)
        assert answer.headers["HX-Redirect"] == f"/flows/{flow_id}?saved=1"
        stored = (await tenant.http.get(f"{FLOWS}/{flow_id}")).json()
        assert stored["flow_definition"] == {"steps": SEED_STEPS}
        assert stored["status"] == "paused"

    async def test_reordered_cards_are_saved_in_page_order(
        self, logged_in: tuple[httpx.AsyncClient, str], tenant: TenantHandle
    ) -> None:
        http, csrf = logged_in
        flow_id = await _create_from_builder(http, csrf)
        form = welcome_form(csrf)
        form["step"] = ["a", "c", "b"]
        await http.post(f"/flows/{flow_id}", data=form, headers=HTMX)
        stored = (await tenant.http.get(f"{FLOWS}/{flow_id}")).json()
        ids = [step["id"] for step in stored["flow_definition"]["steps"]]
        assert ids == ["condition_1", "action_2", "action_1"]

    async def test_an_api_422_is_shown_next_to_its_step_and_field(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, csrf = logged_in
        form = welcome_form(csrf, to="")
        form["a.operator"] = "resembles"
        answer = await http.post("/flows", data=form, headers=HTMX)
        assert answer.status_code == 422
        html = answer.text
        assert html.startswith('<form id="builder-form"')
        step_b = html[html.index('id="step-b"') : html.index('id="step-c"')]
        assert "field-error" in step_b, "the missing `to` is flagged on action_1"
        step_a = html[html.index('id="step-a"') : html.index('id="step-b"')]
        assert "field-error" in step_a, "the unknown operator is flagged on condition_1"
        assert 'value="Welcome {{trigger.name}}!"' in step_b, "what was typed is kept"

    async def test_a_dropped_palette_item_becomes_a_form_from_the_catalogue(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        card = await http.get(
            "/builder/step",
            params={
                "kind": "action",
                "action_type": "send_email",
                "step_id": "action_1",
                "uid": "n1",
            },
            headers=HTMX,
        )
        assert card.status_code == 200
        for name in ("to", "subject", "body", "template"):
            assert f'name="n1.p.{name}"' in card.text
        condition = await http.get(
            "/builder/step",
            params={"kind": "condition", "step_id": "condition_1", "uid": "n2"},
            headers=HTMX,
        )
        assert 'value="greater_than_or_equal"' in condition.text
        unknown = await http.get(
            "/builder/step",
            params={"kind": "action", "action_type": "launch_rocket", "step_id": "a", "uid": "n3"},
        )
        assert unknown.status_code == 422

    async def test_the_trigger_fields_follow_the_trigger(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        fields = await http.get("/builder/fields", params={"trigger_event": "order.created"})
        assert 'value="{{trigger.total}}"' in fields.text
        assert 'value="items"' in fields.text


class TestFlowsList:
    async def test_lists_status_trigger_and_runs_and_pauses(
        self, logged_in: tuple[httpx.AsyncClient, str], tenant: TenantHandle
    ) -> None:
        http, csrf = logged_in
        flow_id = await _create_from_builder(http, csrf)
        page = await http.get("/flows")
        assert "Welcome New Customer" in page.text
        assert "customer.created" in page.text
        assert "never" in page.text
        answer = await http.post(
            f"/flows/{flow_id}/status",
            data={"status": "paused"},
            headers={**HTMX, "X-CSRF-Token": csrf},
        )
        assert answer.headers["HX-Redirect"] == "/flows"
        assert (await tenant.http.get(f"{FLOWS}/{flow_id}")).json()["status"] == "paused"

    async def test_another_tenants_flow_is_not_found(
        self, logged_in: tuple[httpx.AsyncClient, str], make_tenant: Any
    ) -> None:
        http, _ = logged_in
        other = await make_tenant()
        created = await other.http.post(
            FLOWS,
            json={
                "name": "Theirs",
                "trigger_event": "customer.created",
                "flow_definition": {"steps": SEED_STEPS},
            },
        )
        assert created.status_code == 201, created.text
        assert (await http.get(f"/flows/{created.json()['id']}")).status_code == 404
        assert "Theirs" not in (await http.get("/flows")).text

    async def test_an_unknown_flow_is_a_not_found_page(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        answer = await http.get("/flows/00000000-0000-4000-8000-000000000000")
        assert answer.status_code == 404
        assert "does not exist" in answer.text
        assert (await http.get("/")).status_code == 200, "the root is the flows list"


class TestTestPanel:
    async def test_the_dry_run_shows_verdicts_and_the_rendered_email(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, csrf = logged_in
        flow_id = await _create_from_builder(http, csrf)
        payload = '{"email": "ada@example.com", "name": "Ada"}'
        result = await http.post(
            f"/flows/{flow_id}/test", data={"payload": payload, "csrf_token": csrf}, headers=HTMX
        )
        assert result.status_code == 200
        assert "Every condition held" in result.text
        assert "ada@example.com" in result.text
        assert "Welcome Ada!" in result.text

    async def test_bad_json_is_explained(self, logged_in: tuple[httpx.AsyncClient, str]) -> None:
        http, csrf = logged_in
        flow_id = await _create_from_builder(http, csrf)
        result = await http.post(
            f"/flows/{flow_id}/test", data={"payload": "{nope", "csrf_token": csrf}
        )
        assert "not valid JSON" in result.text


class TestMonitoring:
    async def test_pages_render_for_a_new_tenant(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        for path in ("/executions", "/deliveries", "/activity", "/flows/new"):
            page = await http.get(path)
            assert page.status_code == 200, (path, page.text[:500])
        rows = await http.get("/executions?status=failed", headers=HTMX)
        assert rows.text.lstrip().startswith('<tbody id="execution-rows"')

    async def test_activity_lists_notifications_and_tasks(
        self, logged_in: tuple[httpx.AsyncClient, str], tenant: TenantHandle
    ) -> None:
        http, _ = logged_in
        await tenant.http.post(
            "/api/notifications/email", json={"to": "ada@example.com", "subject": "Hello Ada"}
        )
        await tenant.http.post("/api/tasks", json={"title": "Call Ada back"})
        page = await http.get("/activity")
        assert "Hello Ada" in page.text
        assert "Call Ada back" in page.text

    async def test_an_unknown_execution_is_not_found(
        self, logged_in: tuple[httpx.AsyncClient, str]
    ) -> None:
        http, _ = logged_in
        answer = await http.get("/executions/00000000-0000-4000-8000-000000000000")
        assert answer.status_code == 404


class TestStatic:
    async def test_vendored_libraries_are_served(self, browser: httpx.AsyncClient) -> None:
        for path in (
            "/static/vendor/htmx.min.js",
            "/static/vendor/Sortable.min.js",
            "/static/app.css",
        ):
            answer = await browser.get(path)
            assert answer.status_code == 200, path

    async def test_nothing_outside_static_is_served(self, browser: httpx.AsyncClient) -> None:
        for path in ("/static/../routes.py", "/static/%2e%2e/routes.py", "/static/nope.js"):
            assert (await browser.get(path)).status_code == 404, path


@pytest.mark.parametrize(
    "path",
    [
        "/executions?status=zz",
        "/executions?flow_id=abc",
        "/executions?cursor=bad",
        "/deliveries?status=zz",
        "/deliveries?subscription_id=x",
        "/deliveries?cursor=x",
    ],
)
async def test_a_filter_the_api_refuses_shows_the_unfiltered_list(
    logged_in: tuple[httpx.AsyncClient, str], path: str
) -> None:
    browser, _ = logged_in
    response = await browser.get(path)
    assert response.status_code == 200
    assert "<table" in response.text or "No " in response.text
