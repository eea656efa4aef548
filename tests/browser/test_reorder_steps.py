"""Journey: a merchant reorders a flow's steps by drag and drop and saves the new order."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, drag, log_in, screenshot
from tests.browser.test_welcome_flow import SEED_STEPS


def _order(page: Page) -> list[str]:
    ids: list[str] = page.locator("#flow-steps > .step").evaluate_all(
        "steps => steps.map(step => step.dataset.stepId)"
    )
    return ids


def test_reorder_two_steps_and_save(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    with server.api(token) as api:
        created = api.post(
            "/plugins/automation/flows",
            json={
                "name": "Welcome New Customer",
                "trigger_event": "customer.created",
                "flow_definition": {"steps": SEED_STEPS},
            },
        )
        assert created.status_code == 201, created.text
        flow_id = created.json()["id"]
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    assert _order(page) == ["condition_1", "action_1", "action_2"]

    # Drag action_2 by its handle above action_1.
    page.locator(".step[data-step-id=action_1]").evaluate("el => el.scrollIntoView()")
    handle = page.locator(".step[data-step-id=action_2] .step-handle")
    target = page.locator(".step[data-step-id=action_1]").bounding_box()
    assert target is not None
    drag(page, handle, target["x"] + target["width"] / 2, target["y"] + 10)
    assert _order(page) == ["condition_1", "action_2", "action_1"]
    screenshot(page, "09-builder-reordered")

    page.click("#save-paused")
    page.wait_for_url(f"**/flows/{flow_id}?saved=1")
    expect(page.locator(".alert-ok")).to_contain_text("Saved as paused")
    assert _order(page) == ["condition_1", "action_2", "action_1"]

    with server.api(token) as api:
        stored = api.get(f"/plugins/automation/flows/{flow_id}").json()
    assert [step["id"] for step in stored["flow_definition"]["steps"]] == [
        "condition_1",
        "action_2",
        "action_1",
    ]
    assert stored["status"] == "paused"
    assert stored["flow_definition"]["steps"][1] == SEED_STEPS[2], "the step moved intact"


def test_an_invalid_step_is_flagged_where_it_is(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    log_in(page, token)
    page.goto("/flows/new")
    page.fill("#flow-name", "Broken")
    steps = page.locator("#flow-steps").bounding_box()
    assert steps is not None
    drag(
        page,
        page.locator("#palette-actions [data-action-type=send_email]"),
        steps["x"] + steps["width"] / 2,
        steps["y"] + steps["height"] - 16,
    )
    card = page.locator(".step[data-step-id=action_1]")
    card.locator("input[name$='.p.subject']").fill("Hello {{trigger.name}}")
    page.click("#save-active")
    expect(page.locator(".alert-error")).to_contain_text("not saved")
    expect(card.locator(".field-error")).to_be_visible()
    screenshot(page, "10-builder-validation")


def test_a_step_dropped_beside_the_line_mid_flow_lands_there(page: Page, server: Server) -> None:
    """Issue 25, item 11: dropped beside the flow's line next to the third step, a new step
    landed at the top of the flow (SortableJS's "left of the list" rule)."""
    _, token = server.create_tenant()
    with server.api(token) as api:
        created = api.post(
            "/plugins/automation/flows",
            json={
                "name": "Welcome New Customer",
                "trigger_event": "customer.created",
                "flow_definition": {"steps": SEED_STEPS},
            },
        )
        flow_id = created.json()["id"]
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    target = page.locator(".step[data-step-id=action_2]")
    target.evaluate("el => el.scrollIntoView({block: 'center'})")
    steps = page.locator("#flow-steps").bounding_box()
    box = target.bounding_box()
    assert steps is not None
    assert box is not None
    # Beside the upper part of action_2, between the flow's line and the card.
    drag(
        page,
        page.locator("#palette-actions [data-action-type=create_notification]"),
        steps["x"] + 3,
        box["y"] + 12,
    )
    expect(page.locator(".step[data-step-id=action_3]:not(.loading)")).to_have_count(1)
    assert _order(page) == ["condition_1", "action_1", "action_3", "action_2"]
