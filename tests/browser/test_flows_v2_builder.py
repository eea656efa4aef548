"""Journey (issue 23): a merchant builds a branching, looping and waiting flow by drag and
drop, saves it, runs it now, resumes a waiting run, and schedules a flow."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Server, check_page, drag_onto_flow_end, log_in


def _drop_into(page: Page, source: Locator, zone: Locator) -> None:
    """Drag a palette item or a step's handle to the bottom of a nested zone (then,
    otherwise, a loop's steps). The zone is measured again on the way: SortableJS moves the
    dragged step through the lists it crosses, and the page's layout changes under the mouse."""
    source.scroll_into_view_if_needed()
    box = source.bounding_box()
    assert box is not None, "the element to drag is not on screen"
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 8, y + 8, steps=4)
    last = None
    for _ in range(10):
        target = zone.bounding_box()
        assert target is not None, "the drop zone is not on screen"
        if target == last:
            break  # the layout has settled (SortableJS animates each move for 150 ms)
        page.mouse.move(
            target["x"] + target["width"] / 2, target["y"] + target["height"] - 10, steps=15
        )
        page.wait_for_timeout(200)
        last = target
    page.mouse.up()


def _expect_tree(page: Page, expected: list[Any], count: int | None = None) -> None:
    """The page's nesting becomes `expected` (its first `count` steps) within a few seconds."""
    seen: list[Any] = []
    for _ in range(30):
        seen = _tree(page)[:count] if count else _tree(page)
        if seen == expected:
            return
        page.wait_for_timeout(100)
    assert seen == expected


def _zone(page: Page, step_id: str, branch: str) -> Locator:
    return page.locator(
        f".step[data-step-id={step_id}] > .step-body ol.nested[data-branch={branch}]"
    )


def _tree(page: Page) -> list[Any]:
    """The steps as the page nests them: `[id, {branch: [...]}]` for containers."""
    tree: list[Any] = page.locator("#flow-steps").evaluate(
        """list => {
            const walk = ol => [...ol.children].filter(li => li.classList.contains('step'))
              .map(li => {
                const zones = li.querySelectorAll(':scope > .step-body ol.nested');
                if (!zones.length) return li.dataset.stepId;
                const inner = {};
                zones.forEach(zone => { inner[zone.dataset.branch] = walk(zone); });
                return [li.dataset.stepId, inner];
              });
            return walk(list);
        }"""
    )
    return tree


def _palette(page: Page, kind: str, action_type: str = "") -> Locator:
    if action_type:
        return page.locator(f"#palette-actions [data-action-type={action_type}]")
    return page.locator(f"#palette-logic [data-kind={kind}]")


def _wait_loaded(page: Page, step_id: str) -> Locator:
    card = page.locator(f".step[data-step-id={step_id}]:not(.loading)")
    expect(card.locator("input[name$='.id']")).to_have_count(1)
    return card


def test_build_branch_loop_and_wait_by_drag_and_drop(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    log_in(page, token)
    # A tall desktop screen: a drag must start and end on screen.
    page.set_viewport_size({"width": 1280, "height": 1800})
    page.goto("/flows/new")
    page.fill("#flow-name", "Big orders, bulk lines, review later")
    page.select_option("#trigger-event", "order.created")

    # If / otherwise, with an action in each branch.
    drag_onto_flow_end(page, _palette(page, "if"))
    branch = _wait_loaded(page, "if_1")
    branch.locator("input[name$='.field']").first.fill("total")
    branch.locator("select[name$='.operator']").first.select_option("greater_than_or_equal")
    branch.locator("input[name$='.value']").first.fill("100")
    _drop_into(page, _palette(page, "action", "create_notification"), _zone(page, "if_1", "then"))
    thanks = _wait_loaded(page, "action_1")
    thanks.locator("input[name$='.p.channel']").fill("slack")
    thanks.locator("textarea[name$='.p.message'], input[name$='.p.message']").fill(
        "Big order {{trigger.order_id}}"
    )
    _drop_into(page, _palette(page, "action", "create_task"), _zone(page, "if_1", "else"))
    coupon = _wait_loaded(page, "action_2")
    coupon.locator("input[name$='.p.title']").fill("Offer a coupon")

    # For each item, with a task per line.
    drag_onto_flow_end(page, _palette(page, "for_each"))
    loop = _wait_loaded(page, "loop_1")
    expect(loop.locator("input[name$='.items']")).to_have_value("trigger.items")
    _drop_into(page, _palette(page, "action", "create_task"), _zone(page, "loop_1", "steps"))
    pack = _wait_loaded(page, "action_3")
    pack.locator("input[name$='.p.title']").fill("Pack {{item.quantity}} (line {{loop.index}})")

    # A wait of 5 days, then a last task.
    drag_onto_flow_end(page, _palette(page, "wait"))
    wait = _wait_loaded(page, "wait_1")
    wait.locator("input[name$='.wait_amount']").fill("5")
    wait.locator("select[name$='.wait_unit']").select_option("days")
    drag_onto_flow_end(page, _palette(page, "action", "create_task"))
    review = _wait_loaded(page, "action_4")
    review.locator("input[name$='.p.title']").fill("Ask for a review")

    _expect_tree(
        page,
        [
            ["if_1", {"then": ["action_1"], "else": ["action_2"]}],
            ["loop_1", {"steps": ["action_3"]}],
            "wait_1",
            "action_4",
        ],
    )

    # Drag a step out of a branch, and another into the loop, by their handles.
    _drop_into(
        page,
        page.locator(".step[data-step-id=action_2] .step-handle").first,
        _zone(page, "loop_1", "steps"),
    )
    _expect_tree(
        page,
        [
            ["if_1", {"then": ["action_1"], "else": []}],
            ["loop_1", {"steps": ["action_3", "action_2"]}],
        ],
        2,
    )
    _drop_into(
        page,
        page.locator(".step[data-step-id=action_2] .step-handle").first,
        _zone(page, "if_1", "else"),
    )
    _expect_tree(page, [["if_1", {"then": ["action_1"], "else": ["action_2"]}]], 1)
    check_page(page, "23-builder-branch-loop-wait")

    page.click("#save-active")
    page.wait_for_url(re.compile(r".*/flows/[^/]+\?saved=1$"))
    flow_id = page.url.split("/flows/")[1].split("?")[0]
    expect(page.locator(".alert-ok")).to_contain_text("Saved as active")

    with server.api(token) as api:
        stored = api.get(f"/plugins/automation/flows/{flow_id}").json()
    steps = stored["flow_definition"]["steps"]
    assert [step["id"] for step in steps] == ["if_1", "loop_1", "wait_1", "action_4"]
    if_step, loop_step, wait_step, review_step = steps
    assert if_step["type"] == "if"
    assert if_step["when"] == {"field": "total", "operator": "greater_than_or_equal", "value": 100}
    assert [s["id"] for s in if_step["then"]] == ["action_1"]
    assert if_step["then"][0]["payload_template"] == {
        "channel": "slack",
        "message": "Big order {{trigger.order_id}}",
    }
    assert [s["id"] for s in if_step["else"]] == ["action_2"]
    assert if_step["else"][0]["payload_template"] == {"title": "Offer a coupon"}
    assert loop_step["type"] == "for_each"
    assert loop_step["items"] == "trigger.items"
    assert [s["id"] for s in loop_step["steps"]] == ["action_3"]
    assert loop_step["steps"][0]["payload_template"]["title"] == (
        "Pack {{item.quantity}} (line {{loop.index}})"
    )
    assert wait_step == {"id": "wait_1", "type": "wait", "duration": "5 days"}
    assert review_step["action_type"] == "create_task"

    # The saved page shows the same tree, nested.
    assert _tree(page) == [
        ["if_1", {"then": ["action_1"], "else": ["action_2"]}],
        ["loop_1", {"steps": ["action_3"]}],
        "wait_1",
        "action_4",
    ]


def _create(server: Server, token: str, steps: list[dict[str, Any]], **extra: Any) -> str:
    with server.api(token) as api:
        created = api.post(
            "/plugins/automation/flows",
            json={
                "name": extra.pop("name", "Follow up"),
                "trigger_event": extra.pop("trigger_event", "customer.created"),
                "flow_definition": {"steps": steps},
                **extra,
            },
        )
        assert created.status_code == 201, created.text
        flow_id: str = created.json()["id"]
        return flow_id


TASK = {
    "id": "follow_up",
    "type": "action",
    "action_type": "create_task",
    "payload_template": {"title": "Call {{trigger.email}}"},
}


def test_run_now_from_the_builder_starts_an_execution(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    flow_id = _create(server, token, [TASK])
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    page.click("#run-now")
    started = page.locator("#run-started")
    expect(started).to_contain_text("The flow started")
    started.locator("a").click()
    page.wait_for_url(re.compile(r".*/executions/[^/]+$"))
    expect(page.locator("#execution-status")).to_have_attribute(
        "data-status", "completed", timeout=30_000
    )
    with server.api(token) as api:
        runs = api.get("/plugins/automation/executions", params={"flow_id": flow_id}).json()
    assert len(runs["items"]) == 1
    assert page.url.endswith(runs["items"][0]["id"])


def test_a_waiting_run_shows_its_resume_time_and_resumes_now(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    flow_id = _create(server, token, [{"id": "a_day", "type": "wait", "duration": "1 day"}, TASK])
    with server.api(token) as api:
        answer = api.post(
            f"/plugins/automation/flows/{flow_id}/run", json={"payload": {"email": "a@b.c"}}
        )
        assert answer.status_code == 202, answer.text
        execution_id = answer.json()["execution_id"]
    log_in(page, token)
    page.goto(f"/executions/{execution_id}")
    status = page.locator("#execution-status")
    expect(status).to_have_attribute("data-status", "waiting", timeout=30_000)
    with server.api(token) as api:
        resume_at = api.get(f"/plugins/automation/executions/{execution_id}").json()["resume_at"]
    # Shown to the minute, with its time zone.
    shown = resume_at.replace("T", " ")[:16]
    expect(page.locator("#waiting-note")).to_contain_text(f"Waiting until {shown}")
    expect(page.locator("#waiting-note")).to_contain_text("UTC")
    expect(page.locator(".trace-step[data-step-id=a_day]")).to_contain_text("waiting")
    check_page(page, "23-execution-waiting")
    page.click("#resume-now")
    expect(status).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(page.locator(".trace-step[data-step-id=a_day]")).to_contain_text("waited")
    expect(page.locator(".action-block[data-step-id=follow_up]")).to_contain_text("succeeded")


def test_the_schedule_trigger_shows_the_next_five_runs(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    log_in(page, token)
    page.goto("/flows/new")
    page.fill("#flow-name", "Monday list")
    page.select_option("#trigger-event", "schedule")
    expect(page.locator("#schedule-fields")).to_be_visible()
    page.fill("#schedule-timezone", "Europe/Paris")
    page.fill("#schedule-cron", "0 9 * * 1")
    runs = page.locator("#schedule-preview .next-runs li")
    expect(runs).to_have_count(5)
    assert all(
        text.startswith("Mon ") and text.endswith(" 09:00") for text in runs.all_inner_texts()
    )
    expect(page.locator("#schedule-preview")).to_contain_text("Europe/Paris")
    page.fill("#schedule-cron", "0 9 * *")
    expect(page.locator("#schedule-preview .field-error")).to_contain_text("five parts")
    page.fill("#schedule-cron", "0 9 * * 1")
    expect(runs).to_have_count(5)
    check_page(page, "23-builder-schedule")
    drag_onto_flow_end(page, _palette(page, "action", "create_task"))
    _wait_loaded(page, "action_1").locator("input[name$='.p.title']").fill("List unpaid orders")
    page.click("#save-paused")
    page.wait_for_url(re.compile(r".*/flows/[^/]+\?saved=1$"))
    flow_id = page.url.split("/flows/")[1].split("?")[0]
    with server.api(token) as api:
        stored = api.get(f"/plugins/automation/flows/{flow_id}").json()
    assert stored["trigger_event"] == "schedule"
    assert stored["schedule"] == {"cron": "0 9 * * 1", "timezone": "Europe/Paris"}
    expect(page.locator("#schedule-cron")).to_have_value("0 9 * * 1")
    expect(runs).to_have_count(5)
