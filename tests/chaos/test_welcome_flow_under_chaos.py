"""The seed's welcome flow for ~1,500 new customers while the system is being broken.

The system runs as an operator would scale it: `bcs serve --no-worker` (the API) and three
`bcs worker` processes on one PostgreSQL. The workers reach the API through a fault-injecting
proxy (`fault_proxy.py`), both for the event bus's deliveries to the automation plugin
(`BCS_PLUGIN_URL`) and for the plugin's action batches to the event receiver
(`BCS_PLATFORM_URL`): 15 % of those requests get a 503 or a dropped connection, before or after
the API did the work. Meanwhile a random worker is SIGKILLed every few seconds and started
again, and the API process is SIGKILLed once and started again.

Then, for every customer: its `customer.created` event was delivered to the plugin, its
execution finished `completed`, and exactly one welcome email and one follow-up task exist
(none lost, none doubled). The figures go to `test-artifacts/chaos.json` and the end of the
test run's output.

`BCS_CHAOS_CUSTOMERS` changes the number of customers (default 1,500, sized for 2 cores).
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
from tests.chaos.fault_proxy import FaultProxy
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

CUSTOMERS = int(os.environ.get("BCS_CHAOS_CUSTOMERS", "1500"))
WORKERS = 3
CONCURRENCY = 8
FAULT_RATE = 0.15
OFFERED_PER_SECOND = 25.0
"""About what 2 cores sustain end to end; customers offered faster only queue up."""
MIN_WORKER_KILLS = 8 if CUSTOMERS >= 1000 else 1
"""The breaker goes on (past 90 % of the flows if need be) until it has killed this many."""
SEED = int(os.environ.get("BCS_CHAOS_SEED", str(int(time.time()))))
SETTLE_SECONDS = 600
FAULTED_PATHS = ("/api/events/automation", "/plugins/automation/webhook")


@dataclass
class Chaos:
    """What was done to the system, and what it went through."""

    worker_kills: int = 0
    api_kills: int = 0
    customer_post_errors: int = 0
    posted: int = 0
    recovery_seconds: list[float] = field(default_factory=list)
    stalled_jobs_recovered: int = 0
    timeline: list[dict[str, Any]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    """What was done when, in seconds since the first customer: `12.3 kill worker-1`."""


async def _drive(api: ApiProcess, tenant: Tenant, chaos: Chaos) -> None:
    """Create CUSTOMERS customers at OFFERED_PER_SECOND, each until the API says 201.

    A POST that fails (the API was killed) is made again as a new customer: it may have
    committed before the API died, and then both customers exist and each must be welcomed.
    """
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    async with httpx.AsyncClient(
        base_url=api.url,
        headers={"Authorization": f"Bearer {tenant.token}"},
        timeout=30,
        limits=limits,
    ) as client:
        gate = asyncio.Semaphore(32)

        async def create(index: int) -> None:
            attempt = 0
            while True:
                attempt += 1
                body = {
                    "name": f"Chaos {index}.{attempt}",
                    "email": f"c{index}.{attempt}@example.com",
                }
                async with gate:
                    try:
                        response = await client.post("/api/customers", json=body)
                    except httpx.HTTPError:
                        pass
                    else:
                        if response.status_code == 201:
                            chaos.posted += 1
                            return
                        assert response.status_code >= 500, response.text  # ours, not chaos
                chaos.customer_post_errors += 1
                await asyncio.sleep(0.5)

        started = time.monotonic()
        pending = []
        for index in range(CUSTOMERS):
            delay = started + index / OFFERED_PER_SECOND - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(create(index)))
        await asyncio.gather(*pending)


async def _sample(
    db: psycopg.AsyncConnection[Any], tenant: Tenant, chaos: Chaos, started: float
) -> None:
    """Every 5 s: customers created, executions ended, jobs waiting (`timeline`)."""
    while True:
        ended = await scalar(
            db,
            "SELECT count(*) FROM automation_executions WHERE tenant_id = %(t)s "
            "AND status <> 'running'",
            t=tenant.tenant_id,
        )
        queued = await counts(
            db,
            "SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'todo' "
            "AND (scheduled_at IS NULL OR scheduled_at <= now()) GROUP BY 1",
        )
        chaos.timeline.append(
            {
                "t": round(time.monotonic() - started),
                "customers": chaos.posted,
                "flows_ended": int(ended),
                "jobs_ready": queued,
            }
        )
        await asyncio.sleep(5)


async def _watch_recovery(
    db: psycopg.AsyncConnection[Any], worker_id: int, jobs: list[int], chaos: Chaos
) -> None:
    """Time until no job the killed worker held is still `doing` on its account."""
    killed_at = time.monotonic()

    async def released() -> bool:
        left = await scalar(
            db,
            "SELECT count(*) FROM procrastinate_jobs "
            "WHERE id = ANY(%(jobs)s) AND status = 'doing' AND worker_id = %(worker)s",
            jobs=jobs,
            worker=worker_id,
        )
        return int(left) == 0

    await eventually(released, seconds=120, what=f"the jobs of killed worker {worker_id}")
    chaos.recovery_seconds.append(round(time.monotonic() - killed_at, 1))
    chaos.stalled_jobs_recovered += len(jobs)


async def _break_things(
    db: psycopg.AsyncConnection[Any],
    api: ApiProcess,
    workers: dict[BcsProcess, int],
    chaos: Chaos,
    until: asyncio.Event,
    started: float,
) -> None:
    """Every 2.5-5.5 s SIGKILL a random worker (and start it again 0.5-2 s later); once, when a
    tenth of the customers exist, SIGKILL the API and start it again."""
    rng = random.Random(SEED)
    watchers: list[asyncio.Task[None]] = []

    def note(what: str) -> None:
        chaos.events.append(f"{time.monotonic() - started:.1f} {what}")

    while not until.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(until.wait(), rng.uniform(2.5, 5.5))
        if until.is_set():
            break
        if not chaos.api_kills and chaos.posted >= CUSTOMERS // 10:
            await api.kill()
            note("SIGKILL api")
            chaos.api_kills += 1
            api.start()
            await api.wait_healthy()
            note("api back")
            continue
        victim = rng.choice(list(workers))
        held = await (
            await db.execute(
                "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND worker_id = %(w)s",
                {"w": workers[victim]},
            )
        ).fetchall()
        await victim.kill()
        note(f"SIGKILL {victim.name} ({len(held)} jobs running)")
        chaos.worker_kills += 1
        if held:
            watchers.append(
                asyncio.create_task(
                    _watch_recovery(db, workers[victim], [row[0] for row in held], chaos)
                )
            )
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        workers[victim] = await start_worker(db, victim)
    await asyncio.gather(*watchers)


_PLUGIN_DELIVERIES = """
SELECT d.status, count(*) FROM webhook_deliveries d
JOIN webhook_subscriptions s ON s.id = d.subscription_id
WHERE s.system_key = 'automation-plugin' AND d.tenant_id = %(tenant)s
  AND d.event_type = 'customer.created'
GROUP BY d.status
"""


async def _settled(db: psycopg.AsyncConnection[Any], tenant: Tenant) -> bool:
    """Every customer's delivery is final, every execution has ended, no job is left to run."""
    customers = int(
        await scalar(
            db, "SELECT count(*) FROM customers WHERE tenant_id = %(t)s", t=tenant.tenant_id
        )
    )
    deliveries = await counts(db, _PLUGIN_DELIVERIES, tenant=tenant.tenant_id)
    ended = int(
        await scalar(
            db,
            "SELECT count(*) FROM automation_executions WHERE tenant_id = %(t)s "
            "AND status <> 'running'",
            t=tenant.tenant_id,
        )
    )
    busy = int(
        await scalar(
            db,
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
            "AND queue_name IN ('deliveries', 'executions')",
        )
    )
    final = deliveries.get("delivered", 0) + deliveries.get("dead", 0)
    return customers > 0 and final >= customers and ended >= customers and busy == 0


async def test_welcome_flow_survives_kills_and_faults(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
    db: psycopg.AsyncConnection[Any],
) -> None:
    started = time.monotonic()
    api_port_env = base_env(chaos_database_url, chaos_var_dir)
    api = ApiProcess(api_port_env, log_dir)
    async with FaultProxy(api.url, rate=FAULT_RATE, paths=FAULTED_PATHS, seed=SEED) as proxy:
        settings = {
            "plugin_url": proxy.url,  # the bus delivers to the plugin through the proxy
            "webhook_retry_first_delay_seconds": "1",
        }
        api.env = base_env(chaos_database_url, chaos_var_dir, **settings)
        processes.append(api)
        api.start()
        await api.wait_healthy()
        worker_env = base_env(chaos_database_url, chaos_var_dir, platform_url=proxy.url, **settings)
        workers: dict[BcsProcess, int] = {}
        for index in range(WORKERS):
            process = worker_process(index, worker_env, log_dir, CONCURRENCY)
            processes.append(process)
            workers[process] = await start_worker(db, process)

        tenant = await create_tenant(api.env, "chaos")
        await create_flow(api.url, tenant, WELCOME_FLOW)
        chaos = Chaos()
        drive_started = time.monotonic()
        calm = asyncio.Event()
        breaker = asyncio.create_task(_break_things(db, api, workers, chaos, calm, drive_started))
        sampler = asyncio.create_task(_sample(db, tenant, chaos, drive_started))
        exit_codes: list[int] = []
        settled = False
        drive_seconds: float | None = None
        try:
            await _drive(api, tenant, chaos)
            drive_seconds = time.monotonic() - drive_started

            async def mostly_done() -> bool:
                if breaker.done():
                    return True
                ended = await scalar(
                    db,
                    "SELECT count(*) FROM automation_executions WHERE tenant_id = %(t)s "
                    "AND status <> 'running'",
                    t=tenant.tenant_id,
                )
                return int(ended) >= 0.9 * CUSTOMERS and chaos.worker_kills >= MIN_WORKER_KILLS

            # Generous: a busy CI machine runs this at half speed; slow is not wrong here.
            await eventually(
                mostly_done, seconds=SETTLE_SECONDS, what="90 % of the executions", interval=1
            )
            calm.set()
            await breaker

            async def all_ended() -> bool:
                return await _settled(db, tenant)

            await eventually(
                all_ended, seconds=SETTLE_SECONDS, what="every customer's flow to end", interval=1
            )
            settled = True
        finally:
            elapsed = time.monotonic() - drive_started
            calm.set()
            for task in (breaker, sampler):
                task.cancel()
            await asyncio.gather(breaker, sampler, return_exceptions=True)
            proxy.enabled = False
            if settled:
                exit_codes = [await process.stop() for process in workers]
            figures = await _figures(db, tenant, chaos, proxy)
            figures |= {
                "seed": SEED,
                "settled": settled,
                "processes": {"api": 1, "workers": WORKERS, "concurrency_per_worker": CONCURRENCY},
                "fault_rate": FAULT_RATE,
                "drive_seconds": None if drive_seconds is None else round(drive_seconds, 1),
                "seconds_to_settle": round(elapsed, 1),
                "test_seconds": round(time.monotonic() - started, 1),
                "completed_per_second": round(
                    figures["executions"].get("completed", 0) / elapsed, 1
                ),
                "worker_exit_codes_on_sigterm": exit_codes,
                "chaos_events": chaos.events,
                "timeline": chaos.timeline,
            }
            ARTIFACTS.mkdir(exist_ok=True)
            (ARTIFACTS / "chaos.json").write_text(json.dumps(figures, indent=2) + "\n")

    print("\nchaos figures:", json.dumps(figures, indent=2))

    assert chaos.worker_kills >= MIN_WORKER_KILLS, figures
    assert chaos.api_kills == 1, figures
    assert proxy.injected > 0, figures
    assert figures["duplicates"] == 0, figures
    assert figures["lost"] == 0, figures
    assert figures["plugin_deliveries_no_flow_wants"] == 0, figures
    assert figures["executions"] == {"completed": figures["customers"]}, figures
    assert figures["plugin_deliveries"] == {"delivered": figures["customers"]}, figures
    assert exit_codes == [0] * WORKERS, figures
    assert max(chaos.recovery_seconds, default=0) < 60, figures


async def _figures(
    db: psycopg.AsyncConnection[Any], tenant: Tenant, chaos: Chaos, proxy: FaultProxy
) -> dict[str, Any]:
    rows = await (await db.execute(WELCOME_OUTCOMES, {"tenant": tenant.tenant_id})).fetchall()
    emails = [int(row[2]) for row in rows]
    tasks = [int(row[3]) for row in rows]
    executions = [int(row[4]) for row in rows]
    duplicates = {
        "emails": sum(max(0, n - 1) for n in emails),
        "tasks": sum(max(0, n - 1) for n in tasks),
        "executions": sum(max(0, n - 1) for n in executions),
    }
    lost = {
        "emails": emails.count(0),
        "tasks": tasks.count(0),
        "executions": executions.count(0),
    }
    events = await counts(
        db,
        "SELECT event_type, count(*) FROM platform_events WHERE tenant_id = %(t)s GROUP BY 1",
        t=tenant.tenant_id,
    )
    trigger = WELCOME_FLOW["trigger_event"]
    # The plugin's subscription receives the event types some active flow uses (its
    # interests): every customer.created, and none of the notification and task events.
    undelivered = int(
        await scalar(
            db,
            "SELECT count(*) FROM platform_events p WHERE p.tenant_id = %(t)s"
            " AND p.event_type = %(trigger)s AND NOT EXISTS ("
            " SELECT 1 FROM automation_received_events r WHERE r.event_id = p.id)",
            t=tenant.tenant_id,
            trigger=trigger,
        )
    )
    unwanted = int(
        await scalar(
            db,
            "SELECT count(*) FROM webhook_deliveries d"
            " JOIN webhook_subscriptions s ON s.id = d.subscription_id"
            " WHERE s.system_key = 'automation-plugin' AND d.tenant_id = %(t)s"
            " AND d.event_type <> %(trigger)s",
            t=tenant.tenant_id,
            trigger=trigger,
        )
    )
    attempts = await counts(
        db,
        "SELECT (a.status_code IS NOT NULL AND a.status_code < 300)::text, count(*) "
        "FROM webhook_delivery_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id "
        "WHERE d.tenant_id = %(t)s GROUP BY 1",
        t=tenant.tenant_id,
    )
    failed_jobs = await counts(
        db,
        "SELECT task_name, count(*) FROM procrastinate_jobs WHERE status IN ('failed', 'aborted') "
        "GROUP BY 1",
    )
    execution_errors = await counts(
        db,
        "SELECT left(coalesce(error, status), 90), count(*) FROM automation_executions "
        "WHERE tenant_id = %(t)s AND status <> 'completed' GROUP BY 1",
        t=tenant.tenant_id,
    )
    action_errors = await counts(
        db,
        "SELECT left(result->>'error', 90), count(*) FROM automation_event_log "
        "WHERE flow_execution_id IN (SELECT id FROM automation_executions WHERE tenant_id = %(t)s)"
        " AND NOT success GROUP BY 1",
        t=tenant.tenant_id,
    )
    return {
        "customers": len(rows),
        "customer_post_errors": chaos.customer_post_errors,
        "events": sum(events.values()),
        "events_by_type": events,
        "events_not_received_by_plugin": undelivered,
        "plugin_deliveries_no_flow_wants": unwanted,
        "plugin_deliveries": await counts(db, _PLUGIN_DELIVERIES, tenant=tenant.tenant_id),
        "delivery_attempts": {
            "succeeded": attempts.get("true", 0),
            "failed": attempts.get("false", 0),
        },
        "executions": await counts(
            db,
            "SELECT status, count(*) FROM automation_executions WHERE tenant_id = %(t)s GROUP BY 1",
            t=tenant.tenant_id,
        ),
        "kills": {"workers": chaos.worker_kills, "api": chaos.api_kills},
        "stalled_jobs_recovered": chaos.stalled_jobs_recovered,
        "recovery_seconds_max": max(chaos.recovery_seconds, default=None),
        "recovery_seconds": chaos.recovery_seconds,
        "proxy_requests": sum(proxy.requests.values()),
        "injected_faults": proxy.injected,
        "faults_by_kind": dict(proxy.faults),
        "failed_or_aborted_jobs": failed_jobs,
        "duplicates": sum(duplicates.values()),
        "duplicates_by_kind": duplicates,
        "lost": sum(lost.values()) + undelivered,
        "lost_by_kind": lost,
        "execution_errors": execution_errors,
        "action_errors": action_errors,
    }
