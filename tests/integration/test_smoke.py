from __future__ import annotations

import asyncio
import contextlib

import httpx
from sqlalchemy import text

from bettercallsold.jobs.worker import run_worker
from bettercallsold.runtime import Runtime
from tests.integration.bus.conftest import eventually
from tests.integration.conftest import TenantHandle


async def test_healthz_answers_when_the_database_does(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["worker"]["running"] is False  # the test app runs no worker of its own


async def test_healthz_says_whether_the_process_worker_runs(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    task = asyncio.create_task(run_worker(runtime, concurrency=2))
    try:

        async def running() -> bool:
            worker = (await client.get("/healthz")).json()["worker"]
            return bool(worker["running"])

        await eventually(running, seconds=20, what="the worker to register")
        worker = (await client.get("/healthz")).json()["worker"]
        assert worker["state"] == "running"
        assert isinstance(worker["id"], int)
        assert worker["concurrency"] == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    after = (await client.get("/healthz")).json()
    assert after["status"] == "ok"
    assert after["worker"] == {**after["worker"], "running": False, "state": "stopped"}


async def test_a_product_round_trips(tenant: TenantHandle) -> None:
    created = await tenant.http.post("/api/products", json={"name": "Mug", "price": 12.5})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["price"] == 12.5
    fetched = await tenant.http.get(f"/api/products/{body['id']}")
    assert fetched.json()["name"] == "Mug"


async def test_metrics_exposes_the_contract_families(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    for family in (
        'bcs_queue_depth{queue="deliveries"}',
        "bcs_execution_duration_seconds_bucket",
        "bcs_execution_duration_seconds_count",
    ):
        assert family in text


async def test_metrics_count_workers_by_heartbeat_and_running_jobs(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    async with runtime.engine.begin() as connection:
        silent = await connection.scalar(
            text(
                "INSERT INTO procrastinate_workers (last_heartbeat) "
                "VALUES (now() - interval '1 hour') RETURNING id"
            )
        )
    try:
        body = (await client.get("/metrics")).text
    finally:
        async with runtime.engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM procrastinate_workers WHERE id = :id"), {"id": silent}
            )
    assert 'bcs_jobs_running{queue="executions"}' in body
    [line] = [line for line in body.splitlines() if line.startswith('bcs_workers{state="silent"}')]
    assert float(line.split()[-1]) >= 1
    assert 'bcs_workers{state="alive"}' in body


async def test_metrics_show_the_age_of_the_oldest_waiting_job_per_queue(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A job deferred 90 s ago and still waiting shows as at least 90 s old in its queue; a
    job scheduled for later is not waiting yet."""
    async with runtime.engine.begin() as connection:
        waiting = await connection.scalar(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args)"
                " VALUES ('metrics-test', 'nothing', '{}') RETURNING id"
            )
        )
        later = await connection.scalar(
            text(
                "INSERT INTO procrastinate_jobs (queue_name, task_name, args, scheduled_at)"
                " VALUES ('metrics-later', 'nothing', '{}', now() + interval '1 hour')"
                " RETURNING id"
            )
        )
        await connection.execute(
            text(
                "UPDATE procrastinate_events SET at = now() - interval '90 seconds'"
                " WHERE job_id = :id"
            ),
            {"id": waiting},
        )
    try:
        body = (await client.get("/metrics")).text
    finally:
        async with runtime.engine.begin() as connection:
            await connection.execute(
                text("DELETE FROM procrastinate_jobs WHERE id IN (:a, :b)"),
                {"a": waiting, "b": later},
            )
    ages = {
        line.split('"')[1]: float(line.split()[-1])
        for line in body.splitlines()
        if line.startswith("bcs_queue_oldest_waiting_seconds{")
    }
    assert 90 <= ages["metrics-test"] < 300
    assert "metrics-later" not in ages
    assert ages["executions"] >= 0
