"""The benchmark scenarios: each drives the seed's welcome flow end to end and returns figures."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.measure import MemorySampler, latencies, statuses, wait_for
from bench.system import RunningSystem

WELCOME = json.loads(
    (
        Path(__file__).parents[1]
        / "src/bettercallsold/automation/examples/01-welcome-new-customer.json"
    ).read_text()
)


def _client(system: RunningSystem, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=system.base_url,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
        limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
    )


def setup_tenant(system: RunningSystem, flow: dict[str, Any] | None = None) -> tuple[str, str]:
    tenant_id, token = system.create_tenant(f"bench-{uuid.uuid4().hex[:8]}")
    response = httpx.post(
        f"{system.base_url}/plugins/automation/flows",
        json=flow or WELCOME,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    response.raise_for_status()
    return tenant_id, token


async def drive_customers(
    system: RunningSystem, token: str, rate: float, count: int
) -> tuple[int, float]:
    """Open loop: POST `count` customers at `rate`/s (as fast as possible when rate <= 0).
    Returns (HTTP errors, seconds spent)."""
    errors = 0
    started = time.monotonic()
    async with _client(system, token) as client:
        semaphore = asyncio.Semaphore(64)

        async def post(index: int) -> None:
            nonlocal errors
            async with semaphore:
                body = {"name": f"Customer {index}", "email": f"c{index}@example.com"}
                try:
                    response = await client.post("/api/customers", json=body)
                    if response.status_code != 201:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1

        tasks = []
        for index in range(count):
            if rate > 0:
                due = started + index / rate
                delay = due - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(index)))
        await asyncio.gather(*tasks)
    return errors, time.monotonic() - started


def _finish(system: RunningSystem, tenant: str, expected: int, timeout_s: float) -> dict[str, Any]:
    with system.connect() as connection:
        wait_for(
            lambda: (
                sum(statuses(connection, tenant).values()) >= expected
                and statuses(connection, tenant).get("running", 0) == 0
            ),
            timeout_s,
        )
        found = statuses(connection, tenant)
        lat = latencies(connection, tenant)
        actions = connection.execute(
            "SELECT count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success) "
            "FROM automation_event_log WHERE tenant_id = %(t)s",
            {"t": tenant},
        ).fetchone()
    completed = found.get("completed", 0)
    assert actions is not None
    return {
        "executions": found,
        "completed": completed,
        "lost": max(0, expected - sum(found.values())),
        "failed": expected - completed,
        "actions_ok": int(actions[0]),
        "actions_failed": int(actions[1]),
        "duplicated_actions": max(0, int(actions[0]) - 2 * completed),
        "throughput_per_s": round(lat.throughput, 1),
        **lat.summary_ms(),
    }


def steady(system: RunningSystem, rate: float, count: int) -> dict[str, Any]:
    tenant, token = setup_tenant(system)
    with MemorySampler(system.pids) as memory:
        errors, spent = asyncio.run(drive_customers(system, token, rate, count))
        figures = _finish(system, tenant, count, timeout_s=max(60, count / 10))
    return {
        "scenario": f"steady rate={rate or 'max'}/s",
        "events": count,
        "http_errors": errors,
        "offered_per_s": round(count / spent, 1),
        **figures,
        "peak_rss_mb": round(memory.peak_total_mb, 1),
        "peak_rss_by_process_mb": {k: round(v, 1) for k, v in memory.peak_by_name.items()},
    }
