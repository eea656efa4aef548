"""The welcome flow in one deployment (the plugin and the receiver in process) while workers die.

With neither `BCS_PLUGIN_URL` nor `BCS_PLATFORM_URL` set, the event bus hands each
`customer.created` to the automation plugin's intake inside the platform write's own
transaction (the execution and its job are inserted there), and an execution job performs its
actions through the in-process ports and records its end in one transaction. Exactly once is
then by atomicity: a worker SIGKILLed mid-execution leaves nothing committed, the stalled-job
recovery (`jobs/recovery.py`) puts its job back, and the execution runs again.

`bcs serve --no-worker` and two `bcs worker` processes run on one PostgreSQL; while customers
are created at a moderate rate, a worker is SIGKILLed every 2-3 s (preferably one holding
execution jobs) and started again. Then, for every customer: exactly one execution, ended
`completed`, with two rows in the event log; exactly one welcome email and one follow-up task;
and no webhook delivery to the plugin's subscription (the in-process path was the one taken).
The figures go to `test-artifacts/chaos-in-process.json` and the test's output.

`BCS_CHAOS_IN_PROCESS_CUSTOMERS` changes the number of customers (default 300).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.chaos.conftest import ARTIFACTS, WELCOME_FLOW
from tests.chaos.processes import ApiProcess, BcsProcess, base_env, eventually, worker_process
from tests.chaos.system import (
    WELCOME_OUTCOMES,
    Tenant,
    counts,
    create_flow,
    create_tenant,
    scalar,
    start_worker,
)

pytestmark = pytest.mark.slow

CUSTOMERS = int(os.environ.get("BCS_CHAOS_IN_PROCESS_CUSTOMERS", "300"))
WORKERS = 2
CONCURRENCY = 8
OFFERED_PER_SECOND = 30.0
MIN_WORKER_KILLS = 3
"""Kills of a worker while it held execution jobs that were still `doing` at its death: the
drive goes on past CUSTOMERS (up to MAX_CUSTOMERS) until the breaker has done this many, and
the breaker goes on after the last customer until it has killed this many workers."""
MAX_CUSTOMERS = 2 * CUSTOMERS
SEED = int(os.environ.get("BCS_CHAOS_SEED", str(int(time.time()))))
SETTLE_SECONDS = 300
RECOVERY = {
    # A killed worker's jobs go back to the queue at the next periodic recovery (every 15 s)
    # once it has been silent this long: seconds, not the default 20 s.
    "worker_heartbeat_seconds": "1",
    "worker_stalled_seconds": "4",
    # Succeeded jobs stay in procrastinate_jobs: the killed workers' jobs can be followed up.
    "keep_finished_jobs": "true",
}


@dataclass
class Chaos:
    worker_kills: int = 0
    kills_with_executions_in_flight: int = 0
    killed_jobs: list[int] = field(default_factory=list)
    """The execution jobs still `doing` on a worker after it was SIGKILLed."""
    posted: int = 0
    events: list[str] = field(default_factory=list)
    """What was done when, in seconds since the first customer: `12.3 SIGKILL worker-1`."""


async def _drive(api: ApiProcess, tenant: Tenant, chaos: Chaos) -> None:
    """Create CUSTOMERS customers (each with an email) at OFFERED_PER_SECOND, and more (up to
    MAX_CUSTOMERS) until MIN_WORKER_KILLS kills have caught executions in flight. The API is
    never killed here: every POST must answer 201."""
    async with httpx.AsyncClient(
        base_url=api.url,
        headers={"Authorization": f"Bearer {tenant.token}"},
        timeout=30,
        limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
    ) as client:

        async def create(index: int) -> None:
            body = {"name": f"InProc {index}", "email": f"inproc{index}@example.com"}
            response = await client.post("/api/customers", json=body)
            assert response.status_code == 201, response.text
            chaos.posted += 1

        started = time.monotonic()
        pending = []
        for index in range(MAX_CUSTOMERS):
            if index >= CUSTOMERS and chaos.kills_with_executions_in_flight >= MIN_WORKER_KILLS:
                break
            delay = started + index / OFFERED_PER_SECOND - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(create(index)))
        await asyncio.gather(*pending)


_HELD = """
SELECT worker_id, array_agg(id) FROM procrastinate_jobs
WHERE status = 'doing' AND queue_name = 'executions' AND worker_id = ANY(%(workers)s)
GROUP BY 1
"""


async def _break_workers(
    db: psycopg.AsyncConnection[Any],
    workers: dict[BcsProcess, int],
    chaos: Chaos,
    drive_done: asyncio.Event,
    started: float,
) -> None:
    """Every 2-3 s SIGKILL a worker that is up, and start it again 0.3-1 s later (in the
    background: the next kill does not wait for it). For up to 1.5 s before a kill, wait for a
    worker holding execution jobs (`doing`) and pick it, so that kills land while executions
    are in flight. Goes on until the drive is over and MIN_WORKER_KILLS are done."""
    rng = random.Random(SEED)
    starting = asyncio.Lock()  # `start_worker` tells workers apart by starting one at a time
    down: set[BcsProcess] = set()
    restarts: list[asyncio.Task[None]] = []

    def note(what: str) -> None:
        chaos.events.append(f"{time.monotonic() - started:.1f} {what}")

    async def restart(process: BcsProcess) -> None:
        await asyncio.sleep(rng.uniform(0.3, 1.0))
        async with starting:
            workers[process] = await start_worker(db, process)
        down.discard(process)
        note(f"{process.name} back")

    next_kill = time.monotonic() + rng.uniform(2.0, 3.0)
    try:
        while not (drive_done.is_set() and chaos.worker_kills >= MIN_WORKER_KILLS):
            await asyncio.sleep(max(0.0, next_kill - time.monotonic()))
            up = {process: workers[process] for process in workers if process not in down}
            if not up:
                await asyncio.sleep(0.1)
                continue
            victim: BcsProcess | None = None
            held: list[int] = []
            hunt_until = time.monotonic() + 1.5
            while victim is None and time.monotonic() < hunt_until:
                rows = await (await db.execute(_HELD, {"workers": list(up.values())})).fetchall()
                for process, worker_id in up.items():
                    jobs = next((row[1] for row in rows if row[0] == worker_id), None)
                    if jobs:
                        victim, held = process, list(jobs)
                        break
                else:
                    await asyncio.sleep(0.02)
            if victim is None:
                victim = rng.choice(list(up))
            await victim.kill()
            down.add(victim)
            next_kill = time.monotonic() + rng.uniform(2.0, 3.0)
            chaos.worker_kills += 1
            if held:  # which of them had not ended before the SIGKILL landed
                still = await scalar(
                    db,
                    "SELECT coalesce(array_agg(id), '{}') FROM procrastinate_jobs "
                    "WHERE id = ANY(%(jobs)s) AND status = 'doing' AND worker_id = %(w)s",
                    jobs=held,
                    w=up[victim],
                )
                held = list(still)
            if held:
                chaos.kills_with_executions_in_flight += 1
                chaos.killed_jobs.extend(held)
            note(f"SIGKILL {victim.name} ({len(held)} execution jobs doing)")
            restarts.append(asyncio.create_task(restart(victim)))
    finally:
        await asyncio.gather(*restarts)


_PLUGIN_DELIVERIES = """
SELECT d.status, count(*) FROM webhook_deliveries d
JOIN webhook_subscriptions s ON s.id = d.subscription_id
WHERE s.system_key = 'automation-plugin'
GROUP BY d.status
"""


async def _settled(db: psycopg.AsyncConnection[Any], tenant: Tenant) -> bool:
    """Every customer has an execution that has ended, and no execution job is left."""
    waiting = int(
        await scalar(
            db,
            "SELECT count(*) FROM customers c WHERE c.tenant_id = %(t)s AND NOT EXISTS ("
            " SELECT 1 FROM automation_executions e WHERE e.tenant_id = c.tenant_id"
            " AND e.trigger_data->>'customer_id' = c.id::text AND e.status <> 'running')",
            t=tenant.tenant_id,
        )
    )
    busy = int(
        await scalar(
            db,
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
            "AND queue_name = 'executions'",
        )
    )
    return waiting == 0 and busy == 0


async def test_in_process_flows_survive_worker_kills(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
    db: psycopg.AsyncConnection[Any],
) -> None:
    started = time.monotonic()
    env = base_env(chaos_database_url, chaos_var_dir, **RECOVERY)  # no plugin_url/platform_url
    assert "BCS_PLUGIN_URL" not in env
    assert "BCS_PLATFORM_URL" not in env
    api = ApiProcess(env, log_dir)
    processes.append(api)
    api.start()
    await api.wait_healthy()
    workers: dict[BcsProcess, int] = {}
    for index in range(WORKERS):
        process = worker_process(index, env, log_dir, CONCURRENCY)
        processes.append(process)
        workers[process] = await start_worker(db, process)

    tenant = await create_tenant(env, "in-process-chaos")
    await create_flow(api.url, tenant, WELCOME_FLOW)

    chaos = Chaos()
    drive_started = time.monotonic()
    drive_done = asyncio.Event()
    breaker = asyncio.create_task(_break_workers(db, workers, chaos, drive_done, drive_started))
    settled = False
    drive_seconds: float | None = None
    settle_seconds: float | None = None
    try:
        await _drive(api, tenant, chaos)
        drive_seconds = time.monotonic() - drive_started
        drive_done.set()
        await breaker
        settle_started = time.monotonic()

        async def all_ended() -> bool:
            return await _settled(db, tenant)

        await eventually(
            all_ended, seconds=SETTLE_SECONDS, what="every customer's flow to end", interval=0.5
        )
        settle_seconds = time.monotonic() - settle_started
        settled = True
    finally:
        drive_done.set()
        if not breaker.done():
            breaker.cancel()
        with contextlib.suppress(BaseException):
            await breaker
        figures = await _figures(db, tenant, chaos)
        figures |= {
            "seed": SEED,
            "settled": settled,
            "processes": {"api": 1, "workers": WORKERS, "concurrency_per_worker": CONCURRENCY},
            "recovery_settings": RECOVERY,
            "drive_seconds": None if drive_seconds is None else round(drive_seconds, 1),
            "seconds_to_settle_after_chaos": (
                None if settle_seconds is None else round(settle_seconds, 1)
            ),
            "seconds_from_first_customer": round(time.monotonic() - drive_started, 1),
            "test_seconds": round(time.monotonic() - started, 1),
            "chaos_events": chaos.events,
        }
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "chaos-in-process.json").write_text(json.dumps(figures, indent=2) + "\n")
        print("\nin-process chaos figures:", json.dumps(figures, indent=2))

    assert chaos.worker_kills >= MIN_WORKER_KILLS, figures
    assert chaos.kills_with_executions_in_flight >= MIN_WORKER_KILLS, figures
    killed = figures["killed_jobs_in_the_end"]
    killed_once_or_more = len(set(chaos.killed_jobs))  # a job may be killed twice (attempts 3)
    assert sum(killed.values()) == killed_once_or_more, figures
    assert all(status.startswith("succeeded") for status in killed), figures
    assert figures["execution_jobs_run_again"] >= killed_once_or_more, figures
    assert figures["customers"] == chaos.posted >= CUSTOMERS, figures
    assert figures["wrong"] == {}, figures
    assert figures["executions"] == {"completed": chaos.posted}, figures
    assert figures["plugin_deliveries"] == {}, figures  # the in-process path, not webhooks
    assert figures["failed_or_aborted_jobs"] == {}, figures


async def _figures(
    db: psycopg.AsyncConnection[Any], tenant: Tenant, chaos: Chaos
) -> dict[str, Any]:
    rows = await (await db.execute(WELCOME_OUTCOMES, {"tenant": tenant.tenant_id})).fetchall()
    # Per customer: 1 email, 1 task, 1 execution, 1 completed, 2 event log rows.
    expected = (1, 1, 1, 1, 2)
    labels = ("emails", "tasks", "executions", "completed", "event_log_rows")
    wrong: dict[str, dict[str, int]] = {}
    for row in rows:
        found = tuple(int(n) for n in row[2:])
        for label, want, got in zip(labels, expected, found, strict=True):
            if got != want:
                wrong.setdefault(label, {})
                key = f"{got} (want {want})"
                wrong[label][key] = wrong[label].get(key, 0) + 1
    examples = [
        {"customer": str(row[0]), "name": row[1], **dict(zip(labels, row[2:], strict=True))}
        for row in rows
        if tuple(int(n) for n in row[2:]) != expected
    ][:5]
    return {
        "customers": len(rows),
        "posted": chaos.posted,
        "kills": {
            "workers": chaos.worker_kills,
            "with_executions_in_flight": chaos.kills_with_executions_in_flight,
            "execution_jobs_doing_at_kills": len(chaos.killed_jobs),
        },
        "killed_jobs_in_the_end": await counts(
            db,
            "SELECT status || ', attempts ' || attempts, count(*) "
            "FROM procrastinate_jobs WHERE id = ANY(%(jobs)s) GROUP BY 1",
            jobs=chaos.killed_jobs,
        ),
        "execution_jobs_run_again": int(
            await scalar(
                db,
                "SELECT count(*) FROM procrastinate_jobs "
                "WHERE queue_name = 'executions' AND attempts > 1",
            )
        ),
        "executions": await counts(
            db,
            "SELECT status, count(*) FROM automation_executions WHERE tenant_id = %(t)s GROUP BY 1",
            t=tenant.tenant_id,
        ),
        "wrong": wrong,
        "wrong_examples": examples,
        "execution_errors": await counts(
            db,
            "SELECT left(coalesce(error, status), 90), count(*) FROM automation_executions "
            "WHERE tenant_id = %(t)s AND status <> 'completed' GROUP BY 1",
            t=tenant.tenant_id,
        ),
        "plugin_deliveries": await counts(db, _PLUGIN_DELIVERIES),
        "jobs_left": await counts(
            db,
            "SELECT queue_name || ':' || status, count(*) FROM procrastinate_jobs "
            "WHERE status IN ('todo', 'doing') GROUP BY 1",
        ),
        "failed_or_aborted_jobs": await counts(
            db,
            "SELECT task_name, count(*) FROM procrastinate_jobs "
            "WHERE status IN ('failed', 'aborted') GROUP BY 1",
        ),
    }
