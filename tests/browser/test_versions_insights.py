"""Journeys of issue 24: a flow's versions compared and restored, the insights charts, re-runs
from the execution page and in bulk, and the builder's replay on recent events."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.browser.conftest import Server, check_page, log_in

WELCOME: list[dict[str, Any]] = [
    {"id": "has_email", "type": "condition", "field": "email", "operator": "exists"},
    {
        "id": "call",
        "type": "action",
        "action_type": "create_task",
        "payload_template": {"title": "Call {{trigger.email}}"},
    },
]
ORDER = "00000000-0000-4000-8000-000000000000"
HALF_FAILING: list[dict[str, Any]] = [
    {
        "id": "note",
        "type": "action",
        "action_type": "create_task",
        "payload_template": {"title": "Check order {{trigger.order_id}}"},
    },
    {
        "id": "fulfil",
        "type": "action",
        "action_type": "update_order_status",
        "payload_template": {"id": "{{trigger.order_id}}", "status": "fulfilled"},
    },
]
FLOWS = "/plugins/automation/flows"
EXECUTIONS = "/plugins/automation/executions"


def _create(api: httpx.Client, name: str, trigger: str, steps: list[dict[str, Any]]) -> str:
    created = api.post(
        FLOWS, json={"name": name, "trigger_event": trigger, "flow_definition": {"steps": steps}}
    )
    assert created.status_code == 201, created.text
    flow_id: str = created.json()["id"]
    return flow_id


def _finished(api: httpx.Client, execution_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run: dict[str, Any] = api.get(f"{EXECUTIONS}/{execution_id}").json()
        if run["status"] not in ("running", "waiting"):
            return run
        time.sleep(0.2)
    raise AssertionError(f"execution {execution_id} did not finish")


def _run(api: httpx.Client, flow_id: str, payload: dict[str, Any]) -> dict[str, Any]:
    answer = api.post(f"{FLOWS}/{flow_id}/run", json={"payload": payload})
    assert answer.status_code == 202, answer.text
    return _finished(api, answer.json()["execution_id"])


def _tasks(api: httpx.Client) -> list[str]:
    return [task["title"] for task in api.get("/api/tasks", params={"limit": 100}).json()["items"]]


def test_two_versions_side_by_side_and_restore_the_old_one(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    with server.api(token) as api:
        flow_id = _create(api, "Welcome", "customer.created", WELCOME)
        edited = [
            WELCOME[0],
            {**WELCOME[1], "payload_template": {"title": "Email {{trigger.email}}"}},
        ]
        changed = api.put(
            f"{FLOWS}/{flow_id}",
            json={
                "name": "Welcome v2",
                "trigger_event": "customer.created",
                "flow_definition": {"steps": edited},
            },
        )
        assert changed.status_code == 200, changed.text
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    history = page.locator("#history")
    expect(page.locator("#versions-list li")).to_have_count(2)
    expect(page.locator("#compare-old")).to_have_value("1")
    expect(page.locator("#compare-new")).to_have_value("2")
    changed_rows = page.locator("#version-diff tr[data-kind=changed]")
    expect(changed_rows).to_have_count(2)
    expect(changed_rows.nth(0).locator(".diff-old")).to_contain_text("Name: Welcome")
    expect(changed_rows.nth(0).locator(".diff-new")).to_contain_text("Name: Welcome v2")
    expect(changed_rows.nth(1).locator(".diff-old")).to_contain_text("Call {{trigger.email}}")
    expect(changed_rows.nth(1).locator(".diff-new")).to_contain_text("Email {{trigger.email}}")
    expect(page.locator("#diff-summary")).to_contain_text("2 lines differ")
    # The same version on both sides: nothing differs.
    page.select_option("#compare-old", "2")
    expect(page.locator("#diff-summary")).to_contain_text("Pick two different versions")
    expect(history.locator("tr[data-kind=changed]")).to_have_count(0)
    page.locator("#versions-title").scroll_into_view_if_needed()
    check_page(page, "24-builder-versions")

    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#versions-list li[data-version='1']").get_by_role(
        "button", name="Restore version 1"
    ).click()
    page.wait_for_url(re.compile(rf".*/flows/{flow_id}\?restored=1$"))
    expect(page.locator("#restored-note")).to_contain_text("Version 1 is the flow again")
    expect(page.locator("#flow-name")).to_have_value("Welcome")
    expect(page.locator("#versions-list li")).to_have_count(3)
    with server.api(token) as api:
        flow = api.get(f"{FLOWS}/{flow_id}").json()
    assert flow["name"] == "Welcome"
    assert flow["flow_definition"]["steps"] == WELCOME


def test_insights_chart_is_drawn_with_the_runs(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    with server.api(token) as api:
        ok_id = _create(api, "Welcome", "customer.created", WELCOME)
        bad_id = _create(api, "Fulfil", "order.created", HALF_FAILING)
        assert _run(api, ok_id, {"email": "ann@example.com"})["status"] == "completed"
        assert _run(api, ok_id, {"email": "bob@example.com"})["status"] == "completed"
        assert _run(api, bad_id, {"order_id": ORDER})["status"] == "completed_with_errors"
    log_in(page, token)
    page.click("nav a[href='/insights']")
    chart = page.locator("#insights-chart")
    expect(chart.locator("canvas")).to_have_count(1)
    expect(chart).to_have_attribute("data-drawn", "3")
    expect(page.locator("[data-stat=total]")).to_have_text("3")
    expect(page.locator("[data-stat=p50]")).not_to_have_text("—")
    expect(chart).to_have_attribute("aria-label", re.compile("2 completed, 1 with errors"))
    expect(page.locator(".top-errors")).to_contain_text(f"Order {ORDER} was not found")
    check_page(page, "24-insights")
    # One flow only.
    page.select_option("#insights-flow", ok_id)
    expect(page.locator("[data-stat=total]")).to_have_text("2")
    expect(page.locator("#insights-chart")).to_have_attribute("data-drawn", "2")
    # And on the flow's own page.
    page.goto(f"/flows/{bad_id}")
    flow_chart = page.locator("#flow-chart")
    expect(flow_chart.locator("canvas")).to_have_count(1)
    expect(flow_chart).to_have_attribute("data-drawn", "1")


def test_rerun_from_the_failed_step_reuses_what_succeeded(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    with server.api(token) as api:
        flow_id = _create(api, "Fulfil", "order.created", HALF_FAILING)
        first = _run(api, flow_id, {"order_id": ORDER})
        assert first["status"] == "completed_with_errors"
        assert _tasks(api) == [f"Check order {ORDER}"]
    log_in(page, token)
    page.goto(f"/executions/{first['id']}")
    page.click("#rerun-from-failed")
    started = page.locator("#run-started")
    expect(started).to_contain_text("The re-run started")
    started.locator("a").click()
    page.wait_for_url(re.compile(r".*/executions/[^/]+$"))
    assert not page.url.endswith(first["id"])
    expect(page.locator("#execution-status")).to_have_attribute(
        "data-status", "completed_with_errors", timeout=30_000
    )
    expect(page.locator("#rerun-of a")).to_have_attribute("href", f"/executions/{first['id']}")
    expect(page.locator(".action-block[data-step-id=note] [data-reused]")).to_be_visible()
    check_page(page, "24-execution-rerun")
    with server.api(token) as api:
        assert _tasks(api) == [f"Check order {ORDER}"], "the succeeded action was not repeated"

    # The whole run again: the task is made a second time.
    page.click("#run-again")
    expect(page.locator("#run-started")).to_contain_text("The re-run started")
    with server.api(token) as api:
        deadline = time.monotonic() + 30
        while len(_tasks(api)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _tasks(api) == [f"Check order {ORDER}"] * 2


def test_rerun_every_failed_run_of_a_flow(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    with server.api(token) as api:
        flow_id = _create(api, "Fulfil", "order.created", HALF_FAILING)
        for _ in range(2):
            assert _run(api, flow_id, {"order_id": ORDER})["status"] == "completed_with_errors"
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    page.on("dialog", lambda dialog: dialog.accept())
    page.select_option("#rerun-since", "24h")
    page.click("#rerun-failed")
    expect(page.locator("#bulk-rerun-done")).to_contain_text("Started 2 re-runs")
    with server.api(token) as api:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = api.get(EXECUTIONS, params={"flow_id": flow_id}).json()["items"]
            reruns = [run for run in runs if run.get("rerun_of")]
            if len(reruns) == 2 and all(r["status"] != "running" for r in reruns):
                break
            time.sleep(0.2)
        assert len(reruns) == 2
        assert len(_tasks(api)) == 2, "each re-run reused its succeeded action"


def test_replay_lists_the_changed_events_first(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    with server.api(token) as api:
        flow_id = _create(api, "Welcome", "customer.created", WELCOME)
        for email in ("bob@example.com", "ann@vip.example.com"):
            made = api.post("/api/customers", json={"name": "Customer", "email": email})
            assert made.status_code == 201, made.text
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            runs = api.get(EXECUTIONS, params={"flow_id": flow_id}).json()["items"]
            if len(runs) == 2 and all(run["status"] == "completed" for run in runs):
                break
            time.sleep(0.2)
        assert len(_tasks(api)) == 2
    log_in(page, token)
    page.goto(f"/flows/{flow_id}")
    # An unsaved edit: only VIP customers get a call.
    condition = page.locator(".step[data-step-id=has_email]")
    condition.locator("select[name$='.operator']").select_option("contains")
    condition.locator("input[name$='.value']").fill("vip")
    page.click("#run-replay")
    expect(page.locator("#replay-summary")).to_contain_text("1 of 2 recent events")
    items = page.locator("#replay-list > li")
    expect(items).to_have_count(2)
    # bob's event is the older one, and is listed first: it is the one that changed.
    expect(items.nth(0)).to_have_attribute("data-changed", "true")
    expect(items.nth(0).locator(".replay-before")).to_contain_text("Call bob@example.com")
    expect(items.nth(0).locator(".replay-after")).to_contain_text("a condition does not hold")
    expect(items.nth(1)).to_have_attribute("data-changed", "false")
    expect(items.nth(1).locator(".replay-after")).to_contain_text("Call ann@vip.example.com")
    page.locator("#replay-result").scroll_into_view_if_needed()
    check_page(page, "24-builder-replay")
    with server.api(token) as api:
        assert len(_tasks(api)) == 2, "a replay performs nothing"
        assert len(api.get(EXECUTIONS, params={"flow_id": flow_id}).json()["items"]) == 2


def test_executions_filter_by_time_and_trigger_data(page: Page, server: Server) -> None:
    _, token = server.create_tenant()
    with server.api(token) as api:
        flow_id = _create(api, "Welcome", "customer.created", WELCOME)
        _run(api, flow_id, {"email": "ann@example.com"})
        _run(api, flow_id, {"email": "bob@example.com"})
    log_in(page, token)
    page.goto("/executions")
    rows = page.locator("#execution-rows tr[data-execution-id]")
    expect(rows).to_have_count(2)
    page.fill("#filter-q", "bob@example.com")
    expect(rows).to_have_count(1)
    assert "q=bob%40example.com" in page.url
    page.fill("#filter-q", "")
    expect(rows).to_have_count(2)
    page.fill("#filter-since", "2099-01-01T00:00")
    expect(rows).to_have_count(0)
    page.fill("#filter-since", "")
    page.fill("#filter-until", "2099-01-01T00:00")
    expect(rows).to_have_count(2)
    page.select_option("#filter-status", "failed")
    expect(rows).to_have_count(0)
    check_page(page, "24-executions-filters")
