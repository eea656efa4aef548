"""Journey: a merchant builds the "Welcome New Customer" flow by drag and drop, tests it, and
watches it run when a customer signs up."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, drag_onto_flow_end, log_in, screenshot

SEED_STEPS: list[dict[str, Any]] = [
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


def _step(page: Page, step_id: str) -> Any:
    card = page.locator(f"#flow-steps .step[data-step-id='{step_id}']")
    expect(card.locator(".step-body")).to_be_visible()
    return card


def _build_welcome_flow(page: Page) -> None:
    page.goto("/flows/new")
    page.fill("#flow-name", "Welcome New Customer")
    page.select_option("#trigger-event", "customer.created")

    drag_onto_flow_end(page, page.locator("#palette-logic [data-kind=condition]"))
    condition = _step(page, "condition_1")
    condition.locator("input[name$='.field']").fill("email")
    condition.locator("select[name$='.operator']").select_option("exists")

    drag_onto_flow_end(page, page.locator("#palette-actions [data-action-type=send_email]"))
    email = _step(page, "action_1")
    email.locator("input[name$='.p.to']").fill("{{trigger.email}}")
    email.locator("input[name$='.p.subject']").fill("Welcome {{trigger.name}}!")
    email.locator("input[name$='.p.template']").fill("welcome_email")

    drag_onto_flow_end(page, page.locator("#palette-actions [data-action-type=create_task]"))
    task = _step(page, "action_2")
    task.locator("input[name$='.p.title']").fill("Follow up with {{trigger.name}}")
    task.locator("input[name$='.p.due_date']").fill("{{now + 3 days}}")

    order = page.locator("#flow-steps > .step").evaluate_all(
        "steps => steps.map(step => step.dataset.stepId)"
    )
    assert order == ["condition_1", "action_1", "action_2"]


def test_build_test_and_watch_the_welcome_flow(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    page.goto("/login")
    screenshot(page, "01-login")
    log_in(page, token)

    _build_welcome_flow(page)
    screenshot(page, "02-builder")
    page.click("#save-active")
    page.wait_for_url(re.compile(r"/flows/[0-9a-f-]{36}\?saved=1$"))
    flow_id = page.url.rsplit("/", 1)[1].split("?")[0]
    expect(page.locator(".alert-ok")).to_contain_text("Saved as active")

    with server.api(token) as api:
        stored = api.get(f"/plugins/automation/flows/{flow_id}").json()
    assert stored["name"] == "Welcome New Customer"
    assert stored["trigger_event"] == "customer.created"
    assert stored["status"] == "active"
    assert stored["flow_definition"] == {"steps": SEED_STEPS}

    # The test panel: the catalogue's customer.created sample, dry run, rendered email.
    page.select_option("#sample-picker", "customer.created")
    expect(page.locator("#test-payload")).to_have_value(re.compile("john@example.com"))
    page.click("#run-test")
    result = page.locator("#test-result")
    expect(result.locator("#test-summary")).to_contain_text("Every condition held")
    expect(result.locator("[data-step-id=condition_1]")).to_contain_text("held")
    expect(result.locator("[data-step-id=action_1]")).to_contain_text("Welcome John Doe!")
    expect(result.locator("[data-step-id=action_1]")).to_contain_text('"to": "john@example.com"')
    screenshot(page, "03-test-panel")

    # A customer signs up: the execution appears by itself (polling), with both actions.
    page.goto(f"/executions?flow_id={flow_id}")
    expect(page.locator("#execution-rows")).to_contain_text("No executions")
    with server.api(token) as api:
        created = api.post(
            "/api/customers", json={"name": "Ada Lovelace", "email": "ada@example.com"}
        )
        assert created.status_code == 201, created.text
    completed = page.locator(".execution-row[data-status=completed]")
    expect(completed).to_have_count(1, timeout=45_000)
    screenshot(page, "04-executions")

    completed.locator("a").first.click()
    page.wait_for_url(re.compile(r"/executions/[0-9a-f-]{36}$"))
    expect(page.locator("#execution-status")).to_have_text("completed")
    actions = page.locator(".action-block")
    expect(actions).to_have_count(2)
    expect(actions.nth(0)).to_contain_text("succeeded")
    expect(actions.nth(0)).to_contain_text("Welcome Ada Lovelace!")
    expect(actions.nth(1)).to_contain_text("succeeded")
    expect(actions.nth(1)).to_contain_text("Follow up with Ada Lovelace")
    expect(page.locator(".trace [data-step-id=condition_1]")).to_contain_text("held")
    screenshot(page, "05-execution-detail")

    page.goto("/activity")
    expect(page.locator("#notifications-table")).to_contain_text("Welcome Ada Lovelace!")
    expect(page.locator("#tasks-table")).to_contain_text("Follow up with Ada Lovelace")
    screenshot(page, "06-notifications-and-tasks")

    page.goto("/flows")
    row = page.locator(f"tr[data-flow-id='{flow_id}']")
    expect(row).to_contain_text("1 completed")
    screenshot(page, "07-flows")

    page.goto("/deliveries")
    expect(page.locator("#deliveries-table")).to_be_visible()
    screenshot(page, "08-deliveries")
