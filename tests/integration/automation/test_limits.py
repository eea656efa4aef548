"""Issue 21's attacks, run against a real uvicorn server (the `over_http` system: the app and its
job worker on one event loop, as `bcs serve` runs them) while another client keeps asking
`GET /healthz`: each worst case answers within a second, and `/healthz` within a fraction of
one while they run. The bounds are generous (the slow versions took 3 to 28 seconds); they
catch a quadratic or unbounded path, not a few milliseconds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.integration.automation.conftest import EXECUTIONS_PATH
from tests.integration.conftest import TenantHandle
from tests.integration.remote import System

FLOWS = "/plugins/automation/flows"
WORST_CASE_SECONDS = 1.0
HEALTHZ_SECONDS = 0.5


def task_action(step_id: str, title: str) -> dict[str, Any]:
    return {
        "id": step_id,
        "type": "action",
        "action_type": "create_task",
        "payload_template": {"title": title},
    }


class HealthProbe:
    """Asks `/healthz` every 20 ms on its own connection and keeps the slowest answer."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.slowest = 0.0
        self.answers = 0
        self._stop = asyncio.Event()

    async def run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            response = await self.client.get("/healthz")
            assert response.status_code == 200
            self.slowest = max(self.slowest, time.perf_counter() - started)
            self.answers += 1
            await asyncio.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()


async def timed(call: Awaitable[httpx.Response]) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = await call
    return response, time.perf_counter() - started


@pytest.fixture
async def tenant(over_http_system: System) -> TenantHandle:
    return await over_http_system.make_tenant()


async def _flow(tenant: TenantHandle, steps: list[dict[str, Any]], **fields: Any) -> str:
    body = {"name": "worst case", "trigger_event": "customer.created", **fields}
    response = await tenant.http.post(FLOWS, json={**body, "flow_definition": {"steps": steps}})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_worst_cases_answer_fast_and_healthz_never_waits(
    over_http_system: System, tenant: TenantHandle
) -> None:
    tags = [f"tag-{index:05d}-" + "x" * 30 for index in range(1_200)]  # ~50 KB
    looping = await _flow(
        tenant,
        [task_action(f"a{i}", "{% for i in (1..1000) %}{{i}}{% endfor %}") for i in range(50)],
    )
    sorting = await _flow(
        tenant,
        [task_action(f"a{i}", "{{ trigger.tags | sort_natural | size }}" * 2) for i in range(50)],
    )
    sort_in_loops = await _flow(
        tenant,
        [
            task_action(
                f"a{i}",
                "{% for i in (1..1000) %}{{ trigger.tags | sort_natural | first }}{% endfor %}",
            )
            for i in range(50)
        ],
    )
    in_list = await _flow(
        tenant,
        [
            {
                "id": "c",
                "type": "condition",
                "field": "tags",
                "operator": "in",
                "value": [f"v{i}" for i in range(1_000)],
            },
            task_action("a", "x"),
        ],
    )
    unclosed = {"steps": [task_action("a", "{{" * 5_000)]}
    distinct = " ".join(["{{ trigger.name | upcase }}", "{{ trigger.email | default: 'x' }}"] * 4)
    many_templates = {
        "steps": [
            {
                "id": f"a{i}",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {
                    "title": f"{i} {distinct}",
                    "description": f"{i} {{% for t in trigger.tags %}}{{{{t}}}}{{% endfor %}}",
                },
            }
            for i in range(250)  # 500 templates, none the same: the most a flow may hold
        ]
    }
    too_many = {
        "steps": [
            {
                "id": f"a{i}",
                "type": "action",
                "action_type": "update_customer",
                "payload_template": {
                    "id": "{{trigger.id}}",
                    "tags": [f"{{{{trigger.t{i}_{j}}}}}" for j in range(200)],
                },
            }
            for i in range(50)
        ]
    }
    attacks: dict[str, Callable[[], Awaitable[httpx.Response]]] = {
        "unclosed markup": lambda: tenant.http.post(
            FLOWS,
            json={"name": "x", "trigger_event": "customer.created", "flow_definition": unclosed},
        ),
        "500 distinct templates": lambda: tenant.http.post(
            FLOWS,
            json={
                "name": "many",
                "trigger_event": "customer.created",
                "flow_definition": many_templates,
            },
        ),
        "10,000 templates": lambda: tenant.http.post(
            FLOWS,
            json={"name": "x", "trigger_event": "customer.created", "flow_definition": too_many},
        ),
        "loops": lambda: tenant.http.post(f"{FLOWS}/{looping}/test", json={"payload": {}}),
        "sort_natural": lambda: tenant.http.post(
            f"{FLOWS}/{sorting}/test", json={"payload": {"tags": tags}}
        ),
        "sorts in loops": lambda: tenant.http.post(
            f"{FLOWS}/{sort_in_loops}/test", json={"payload": {"tags": tags}}
        ),
        "in": lambda: tenant.http.post(
            f"{FLOWS}/{in_list}/test",
            json={"payload": {"tags": [f"t{i}" for i in range(1_500)]}},
        ),
        "body of 2 MiB": lambda: over_http_system.client.post(
            "/plugins/automation/webhook", content=b"x" * (2 * 1024 * 1024)
        ),
    }
    expected = {
        "unclosed markup": 422,
        "500 distinct templates": 201,
        "10,000 templates": 422,
        "loops": 200,
        "sort_natural": 200,
        "sorts in loops": 200,
        "in": 200,
        "body of 2 MiB": 413,
    }
    async with httpx.AsyncClient(base_url=str(over_http_system.client.base_url)) as health:
        probe = HealthProbe(health)
        probing = asyncio.create_task(probe.run())
        try:
            for name, attack in attacks.items():
                for _ in range(3):
                    response, seconds = await timed(attack())
                    assert response.status_code == expected[name], (name, response.text[:300])
                    assert seconds < WORST_CASE_SECONDS, (name, seconds)
        finally:
            probe.stop()
            await probing
    assert probe.answers > 5
    assert probe.slowest < HEALTHZ_SECONDS, probe.slowest


async def test_budget_errors_name_the_limit(tenant: TenantHandle) -> None:
    looping = await _flow(
        tenant,
        [task_action(f"a{i}", "{% for i in (1..1000) %}{{i}}{% endfor %}") for i in range(50)],
    )
    answer = (await tenant.http.post(f"{FLOWS}/{looping}/test", json={"payload": {}})).json()
    assert "more than 10000 loop iterations" in answer["error"]


async def test_a_real_execution_past_its_budget_fails_naming_it(
    over_http_system: System, tenant: TenantHandle
) -> None:
    """One `POST /api/tasks` started a flow whose templates blocked a worker 3.7 s; now it fails
    at its budget, and `/healthz` answers meanwhile."""
    steps = [task_action(f"a{i}", "{% for i in (1..1000) %}{{i}}{% endfor %}") for i in range(50)]
    await _flow(tenant, steps, trigger_event="task.created")
    async with httpx.AsyncClient(base_url=str(over_http_system.client.base_url)) as health:
        probe = HealthProbe(health)
        probing = asyncio.create_task(probe.run())
        try:
            created = await tenant.http.post("/api/tasks", json={"title": "go"})
            assert created.status_code == 201
            deadline = time.monotonic() + 30
            while True:
                items = (await tenant.http.get(EXECUTIONS_PATH)).json()["items"]
                if items and items[0]["status"] != "running":
                    break
                assert time.monotonic() < deadline, items
                await asyncio.sleep(0.05)
        finally:
            probe.stop()
            await probing
    assert items[0]["status"] == "failed"
    assert "execution budget exceeded" in items[0]["error"]
    assert probe.slowest < HEALTHZ_SECONDS, probe.slowest
