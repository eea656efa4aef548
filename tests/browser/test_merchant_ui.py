"""Journeys of issue 25: what a new merchant tripped over, on a desktop and on a phone."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, check_page, log_in
from tests.browser.test_welcome_flow import SEED_STEPS


def _flow(server: Server, token: str, steps: list[dict[str, object]] | None = None) -> str:
    with server.api(token) as api:
        created = api.post(
            "/plugins/automation/flows",
            json={
                "name": "Welcome New Customer",
                "trigger_event": "customer.created",
                "flow_definition": {"steps": steps or SEED_STEPS},
            },
        )
        assert created.status_code == 201, created.text
        flow_id: str = created.json()["id"]
        return flow_id


def test_favicon_is_served(server: Server) -> None:
    answer = httpx.get(f"{server.url}/favicon.ico", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("image/")


def test_a_trigger_chip_in_a_condition_field_inserts_the_field_name(
    page: Page, server: Server
) -> None:
    """Item 1: the chip put `{{trigger.email}}` into Field, and the condition never held."""
    _, token = server.create_tenant()
    flow_id = _flow(server, token)
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    field = page.locator(".step[data-step-id=condition_1] input[name$='.field']")
    field.fill("")
    field.focus()
    page.locator("#trigger-fields .chip[data-path=email]").first.click()
    expect(field).to_have_value("email")


def test_the_test_panel_uses_the_flow_on_screen_and_says_why(page: Page, server: Server) -> None:
    """Items 3, 4, 5: unsaved edits are tested; a condition says field, expected and actual;
    an action's error turns the banner red."""
    _, token = server.create_tenant()
    flow_id = _flow(server, token)
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    expect(page.locator("#test-scope")).to_contain_text("as it stands on screen")
    # An unsaved edit: the condition now wants a phone number that the sample lacks.
    page.locator(".step[data-step-id=condition_1] input[name$='.field']").fill("nickname")
    page.click("#run-test")
    summary = page.locator("#test-summary")
    expect(summary).to_have_attribute("data-outcome", "stopped")
    expect(page.locator("#test-tested")).to_contain_text("unsaved changes included")
    expect(page.locator("#test-result [data-step-id=condition_1]")).to_contain_text(
        "Expected nickname is not empty; it was empty."
    )
    # An action whose placeholder cannot be filled in: red, not green.
    page.locator(".step[data-step-id=condition_1] input[name$='.field']").fill("email")
    page.locator(".step[data-step-id=action_1] input[name$='.p.to']").fill(
        "{{trigger.no_such_field}}"
    )
    page.click("#run-test")
    expect(summary).not_to_have_attribute("data-outcome", "ok")
    expect(summary).not_to_contain_text("Every condition held and every action is ready")


def test_leaving_with_unsaved_changes_asks_first(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    flow_id = _flow(server, token)
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    page.fill("#flow-name", "Renamed")
    asked: list[str] = []

    def dismiss(dialog: object) -> None:
        asked.append(getattr(dialog, "type", ""))
        dialog.dismiss()  # type: ignore[attr-defined]

    page.on("dialog", dismiss)
    page.click("nav a[href='/executions']")
    page.wait_for_timeout(500)
    assert asked == ["beforeunload"]
    assert page.url.endswith(f"/flows/{flow_id}")


def test_steps_can_be_added_moved_and_removed_by_keyboard(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    flow_id = _flow(server, token)
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    item = page.locator("#palette-logic [data-kind=wait]")
    item.focus()
    page.keyboard.press("Enter")
    added = page.locator("#flow-steps > .step[data-step-id=wait_1]")
    expect(added.locator(".step-body")).to_be_visible()
    expect(added.locator(".step-handle")).to_be_focused()
    page.keyboard.press("ArrowUp")
    order = page.locator("#flow-steps > .step").evaluate_all("s => s.map(x => x.dataset.stepId)")
    assert order == ["condition_1", "action_1", "wait_1", "action_2"]
    page.keyboard.press("Delete")
    expect(page.locator("#flow-steps .step[data-step-id=wait_1]")).to_have_count(0)


def test_validation_speaks_plainly_and_all_at_once(page: Page, server: Server) -> None:
    """Item 10: no "String should have…", and step errors with the missing name."""
    _, token = server.create_tenant()
    log_in(page, token)
    page.goto("/flows/new")
    page.locator("#palette-actions [data-action-type=send_email]").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".step[data-step-id=action_1] .step-body")).to_be_visible()
    page.click("#save-active")
    alert = page.locator(".alert-error")
    expect(alert).to_contain_text("not saved")
    expect(page.locator("#builder-form")).to_contain_text("Give the flow a name.")
    expect(page.locator(".step[data-step-id=action_1] .field-error").first).to_be_visible()
    expect(page.locator("#builder-form")).not_to_contain_text("String should have")


def test_every_page_on_desktop_and_phone(page: Page, server: Server) -> None:
    """Items 6 and 11, and the accessibility check: screenshots at 1280 and 390 px."""
    _, token = server.create_tenant()
    flow_id = _flow(server, token)
    page.goto("/login")
    check_page(page, "ui-login")
    log_in(page, token)
    check_page(page, "ui-flows")
    page.goto(f"/flows/{flow_id}")
    check_page(page, "ui-builder")
    page.goto("/flows/new")
    check_page(page, "ui-builder-new")
    page.goto("/executions")
    check_page(page, "ui-executions")
    page.goto("/deliveries")
    check_page(page, "ui-deliveries")
    page.goto("/activity")
    check_page(page, "ui-activity")
    page.goto("/help/templates")
    check_page(page, "ui-template-help")
    # On a phone the navigation is a menu.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/flows")
    expect(page.locator("#main-nav a[href='/executions']")).to_be_hidden()
    page.click("#nav-toggle")
    expect(page.locator("#main-nav a[href='/executions']")).to_be_visible()
    # Times say their zone.
    expect(page.locator("body")).not_to_contain_text(re.compile(r"\d{2}:\d{2}:\d{2}(?! UTC)"))


def test_subscriptions_are_managed_in_the_ui(page: Page, server: Server) -> None:
    """Item 9: create (secret shown once), pause, delete."""
    _, token = server.create_tenant()
    log_in(page, token)
    page.goto("/deliveries")
    page.click(".new-subscription summary")
    page.fill("#sub-url", "https://example.com/hooks")
    page.fill("#sub-description", "Accounting")
    page.click("#subscribe")
    secret = page.locator("#secret-value")
    expect(secret).to_contain_text("whsec_")
    row = page.locator("#subscriptions-table tr[data-subscription-id]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Accounting")
    row.get_by_role("button", name="Send a test event").click()
    expect(page.locator("#test-sent")).to_be_visible()
    page.goto("/deliveries")
    expect(page.locator("main")).to_contain_text("webhook.test")
    row = page.locator("#subscriptions-table tr[data-subscription-id]")
    row.get_by_role("button", name="Pause").click()
    expect(page.locator("#subscriptions-table tr[data-status=paused]")).to_have_count(1)
    expect(page.locator("#secret-value")).to_have_count(0)
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#subscriptions-table").get_by_role("button", name="Delete").click()
    expect(page.locator("#subscriptions-table tr[data-subscription-id]")).to_have_count(0)


def test_the_validation_hint_names_a_field_the_trigger_has(page: Page, server: Server) -> None:
    """Item 2: the hint proposed `customer.email`, which never matches on customer.created."""
    _, token = server.create_tenant()
    flow_id = _flow(server, token)
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    page.locator(".step[data-step-id=condition_1] input[name$='.field']").fill("email..address")
    page.click("#save-active")
    error = page.locator(".step[data-step-id=condition_1] .field-error")
    expect(error).to_contain_text("a field of the trigger, such as email")
    expect(page.locator("#builder-form")).not_to_contain_text("customer.email")


ORDER = "00000000-0000-4000-8000-000000000000"
FAILING_STEPS: list[dict[str, object]] = [
    {
        "id": "fulfil",
        "type": "action",
        "action_type": "update_order_status",
        "payload_template": {"id": "{{trigger.order_id}}", "status": "fulfilled"},
    },
    {
        "id": "restock",
        "type": "action",
        "action_type": "update_product",
        "payload_template": {"id": "{{trigger.order_id}}", "inventory": 3},
    },
]


def _run(server: Server, token: str, flow_id: str, payload: dict[str, object]) -> str:
    with server.api(token) as api:
        answer = api.post(f"/plugins/automation/flows/{flow_id}/run", json={"payload": payload})
        assert answer.status_code == 202, answer.text
        execution_id: str = answer.json()["execution_id"]
        return execution_id


def _failing_execution(server: Server, token: str) -> tuple[str, str]:
    with server.api(token) as api:
        created = api.post(
            "/plugins/automation/flows",
            json={
                "name": "Fulfil and restock",
                "trigger_event": "order.created",
                "flow_definition": {"steps": FAILING_STEPS},
            },
        )
        assert created.status_code == 201, created.text
        flow_id: str = created.json()["id"]
    return flow_id, _run(server, token, flow_id, {"order_id": ORDER})


def test_a_failed_run_is_said_plainly_once_with_its_payload(page: Page, server: Server) -> None:
    """Item 8: merchant's words first (the API's text one click away), one message per
    failure, the payload sent, both failures in the log, "every action failed", a retry."""
    _, token = server.create_tenant()
    flow_id, execution_id = _failing_execution(server, token)
    log_in(page, token)
    page.goto(f"/executions/{execution_id}")
    status = page.locator("#execution-status")
    expect(status).to_have_attribute("data-status", "completed_with_errors", timeout=30_000)
    expect(status).to_have_text("every action failed")
    fulfil = page.locator(".action-block[data-step-id=fulfil]")
    expect(fulfil.locator(".action-error")).to_have_text(f"Order {ORDER} was not found.")
    expect(fulfil.locator(".action-error")).to_have_count(1)
    expect(fulfil.locator("details.tech")).to_contain_text("Platform API error 404")
    expect(fulfil.locator("details.tech pre")).to_be_hidden()
    expect(fulfil.locator(".sent pre")).to_contain_text('"status": "fulfilled"')
    expect(page.locator(".action-block[data-step-id=restock] .action-error")).to_have_text(
        f"Product {ORDER} was not found."
    )
    log = page.locator("#event-log li")
    expect(log).to_have_count(2)
    expect(log.locator(".badge-failed")).to_have_count(2)
    # No developer text in plain sight.
    visible = page.locator("#execution-body").inner_text()
    assert "Platform API error" not in visible.replace(
        page.locator("#execution-body details.tech").first.inner_text(), ""
    )
    check_page(page, "25-execution-failed")
    page.click("#run-again")
    expect(page.locator("#run-started")).to_contain_text("The re-run started")
    with server.api(token) as api:
        runs = api.get("/plugins/automation/executions", params={"flow_id": flow_id}).json()
    assert len(runs["items"]) == 2
    assert {run["trigger_data"]["order_id"] for run in runs["items"]} == {ORDER}


def test_a_failed_delivery_names_its_subscriber_and_retries_now(page: Page, server: Server) -> None:
    """Item 9: which subscriber each delivery went to, and "Retry now" on a failed one."""
    _, token = server.create_tenant()
    with server.api(token) as api:
        subscribed = api.post(
            "/api/webhooks/subscriptions",
            json={
                "url": "https://hooks.example.invalid/orders",
                "event_types": ["customer.created"],
                "description": "Accounting",
            },
        )
        assert subscribed.status_code == 201, subscribed.text
        made = api.post("/api/customers", json={"name": "Ann", "email": "ann@example.com"})
        assert made.status_code == 201, made.text
    log_in(page, token)
    page.goto("/deliveries")
    row = page.locator("#delivery-rows tr[data-status=failed]")
    for _ in range(30):
        if row.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(row).to_have_count(1)
    expect(row.locator(".subscriber")).to_have_text("Accounting")
    expect(row).to_contain_text("does not resolve")
    row.get_by_role("button", name="Retry now").click()
    expect(row).to_contain_text("queued again")
    with server.api(token) as api:
        for _ in range(40):
            items = api.get("/api/webhooks/deliveries").json()["items"]
            if items and items[0]["attempt_count"] >= 2:
                break
            page.wait_for_timeout(250)
    assert items[0]["attempt_count"] >= 2, "retried at once, not at the next scheduled try"


def test_notifications_and_tasks_link_back_to_their_run(page: Page, server: Server) -> None:
    """Item 11: what a flow made says which run made it."""
    _, token = server.create_tenant()
    flow_id = _flow(
        server,
        token,
        [
            {
                "id": "note",
                "type": "action",
                "action_type": "create_notification",
                "payload_template": {"channel": "slack", "message": "New {{trigger.email}}"},
            },
            {
                "id": "call",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": "Call {{trigger.email}}"},
            },
        ],
    )
    execution_id = _run(server, token, flow_id, {"email": "ann@example.com"})
    log_in(page, token)
    with server.api(token) as api:
        for _ in range(60):
            run = api.get(f"/plugins/automation/executions/{execution_id}").json()
            if run["status"] != "running":
                break
            page.wait_for_timeout(250)
    assert run["status"] == "completed", run
    page.goto("/activity")
    for table in ("#notifications-table", "#tasks-table"):
        link = page.locator(f"{table} a.made-by")
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("href", f"/executions/{execution_id}")
    page.locator("#tasks-table a.made-by").click()
    expect(page.locator("#execution-status")).to_have_attribute("data-status", "completed")


def test_the_variable_picker_offers_steps_loop_items_filters_and_a_preview(
    page: Page, server: Server
) -> None:
    """Item 12: earlier steps' results, the loop's item, filters with words, a live preview
    on the sample data, and a help page on placeholders."""
    _, token = server.create_tenant()
    with server.api(token) as api:
        created = api.post(
            "/plugins/automation/flows",
            json={
                "name": "Pack lines",
                "trigger_event": "order.created",
                "flow_definition": {
                    "steps": [
                        {
                            "id": "action_1",
                            "type": "action",
                            "action_type": "create_task",
                            "payload_template": {"title": "Order {{trigger.order_id}}"},
                        },
                        {
                            "id": "loop_1",
                            "type": "for_each",
                            "items": "trigger.items",
                            "steps": [
                                {
                                    "id": "action_2",
                                    "type": "action",
                                    "action_type": "create_notification",
                                    "payload_template": {"channel": "slack", "message": "Line"},
                                }
                            ],
                        },
                    ]
                },
            },
        )
        assert created.status_code == 201, created.text
        flow_id = created.json()["id"]
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    # The trigger's list is offered whole; its items' fields come with the loop (below).
    expect(page.locator("#trigger-fields .chip[data-path='items']")).to_have_count(1)
    message = page.locator(".step[data-step-id=action_2] [name$='.p.message']")
    message.fill("")
    message.focus()
    expect(page.locator("#picker-step-chips .chip[data-path='steps.action_1.id']")).to_be_visible()
    loop_chips = page.locator("#picker-loop-chips")
    expect(page.locator("#picker-loop")).to_be_visible()
    expect(loop_chips.locator(".chip[data-path='loop.index']")).to_be_visible()
    loop_chips.locator(".chip[data-path='item.quantity']").click()
    expect(message).to_have_value("{{item.quantity}}")
    expect(page.locator("#template-preview")).to_have_text("30")
    message.press("End")
    page.locator("#trigger-fields .chip[data-filter]", has_text="money").click()
    expect(message).to_have_value("{{item.quantity | money}}")
    expect(page.locator("#template-preview")).to_contain_text("filters are applied")
    expect(page.locator("#trigger-fields .filters-help")).to_contain_text("a number as an amount")
    # Outside the loop, no loop item is offered.
    page.locator(".step[data-step-id=action_1] [name$='.p.title']").focus()
    expect(page.locator("#picker-loop")).to_be_hidden()
    help_link = page.locator("#trigger-fields a[href='/help/templates']")
    expect(help_link).to_be_visible()
    page.goto("/help/templates")
    expect(page.locator("h1")).to_have_text("Placeholders in a flow")
    expect(page.locator(".help")).to_contain_text("{{steps.action_1.id}}")
    expect(page.locator(".help")).to_contain_text("money")
