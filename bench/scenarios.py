"""The benchmark scenarios: each drives flows end to end through the public APIs and returns
figures (one dict per scenario row)."""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib.util
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import uvloop

from bench.loadgen import http_pool
from bench.measure import (
    DRAINED_SQL,
    EXECUTION_SPAN_SQL,
    QUEUED_SQL,
    CpuMeter,
    Latencies,
    MemorySampler,
    QueueSampler,
    latencies,
    statuses,
    wait_for,
)
from bench.system import BenchConnection, RunningSystem

STATS_FLUSH_S = 11.0
"""PostgreSQL 15+ publishes a backend's counters (pg_stat_database) at most once a second while
it works, and 10 s after it goes idle: wait this long before reading them at a window's edge."""


def _examples() -> Path:
    """The flow examples of the code under test (PYTHONPATH, `--src`), found without importing it;
    this checkout's when it has none."""
    spec = importlib.util.find_spec("bettercallsold")
    for location in (spec.submodule_search_locations or []) if spec else []:
        found = Path(location) / "automation/examples"
        if found.is_dir():
            return found
    return Path(__file__).parents[1] / "src/bettercallsold/automation/examples"


@functools.cache
def welcome() -> dict[str, Any]:
    """The seed's welcome flow (`01-welcome-new-customer.json`)."""
    loaded: dict[str, Any] = json.loads((_examples() / "01-welcome-new-customer.json").read_text())
    return loaded


ORDER_FLOW: dict[str, Any] = {
    "name": "Live sale: note every order",
    "trigger_event": "order.created",
    "flow_definition": {
        "steps": [
            {
                "id": "condition_1",
                "type": "condition",
                "field": "total",
                "operator": "greater_than",
                "value": 0,
            },
            {
                "id": "action_1",
                "type": "action",
                "action_type": "create_task",
                "payload_template": {"title": "Pack order {{trigger.order_id}}"},
            },
        ]
    },
    "status": "active",
}


def flow_with_actions(actions: int) -> dict[str, Any]:
    """The welcome flow's condition, then `actions` actions (emails and tasks, alternating)."""
    flow = copy.deepcopy(welcome())
    condition, email, task = flow["flow_definition"]["steps"]
    steps = [condition]
    for index in range(actions):
        step = copy.deepcopy(email if index % 2 == 0 else task)
        step["id"] = f"action_{index + 1}"
        steps.append(step)
    flow["flow_definition"]["steps"] = steps
    flow["name"] = f"Welcome, {actions} actions"
    return flow


def setup_tenant(system: RunningSystem, flow: dict[str, Any] | None) -> tuple[str, str]:
    tenant_id, token = system.create_tenant(f"bench-{uuid.uuid4().hex[:8]}")
    if flow is not None:
        response = httpx.post(
            f"{system.base_url}/plugins/automation/flows",
            json=flow,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        response.raise_for_status()
    return tenant_id, token


async def drive(
    system: RunningSystem,
    token: str,
    rate: float,
    count: int,
    path: str = "/api/customers",
    body: Any = None,
    *,
    stop: asyncio.Event | None = None,
) -> tuple[int, int, float]:
    """Open loop: POST `count` bodies at `rate`/s (as fast as possible when rate <= 0), or until
    `stop` is set. `body(index)` makes a body (a customer with an email by default).
    Returns (sent, HTTP errors, seconds spent)."""
    errors = sent = 0
    make = body or (lambda i: {"name": f"Customer {i}", "email": f"c{i}@example.com"})
    started = time.monotonic()
    async with http_pool(system.base_url, token, size=64) as client:

        async def post(index: int) -> None:
            nonlocal errors
            try:
                if await client.post(path, json.dumps(make(index)).encode()) != 201:
                    errors += 1
            except (OSError, asyncio.IncompleteReadError, ValueError):
                errors += 1

        tasks = []
        for index in range(count):
            if stop is not None and stop.is_set():
                break
            if rate > 0:
                delay = started + index / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(post(index)))
            sent += 1
        await asyncio.gather(*tasks)
    return sent, errors, time.monotonic() - started


def drive_customers(
    system: RunningSystem, token: str, rate: float, count: int
) -> tuple[int, int, float]:
    return uvloop.run(drive(system, token, rate, count))


def _customers(system: RunningSystem, tenant: str) -> tuple[int, float]:
    """The tenant's customers, and the first one's `created_at` (PostgreSQL's clock, epoch s)."""
    with system.connect() as connection:
        row = connection.execute(
            "SELECT count(*), extract(epoch FROM min(created_at)) FROM customers"
            " WHERE tenant_id = %(t)s",
            {"t": tenant},
        ).fetchone()
    if not row or not row[0]:
        return 0, 0.0
    return int(row[0]), float(row[1])


def _settle(system: RunningSystem, tenant: str, expected: int, timeout_s: float) -> None:
    with system.connect() as connection:

        def done() -> bool:
            found = statuses(connection, tenant)
            return sum(found.values()) >= expected and found.get("running", 0) == 0

        wait_for(done, timeout_s)


def _figures(
    system: RunningSystem,
    tenant: str,
    expected: int,
    actions_per_execution: int,
    sql: str | None = None,
) -> tuple[dict[str, Any], Latencies]:
    with system.connect() as connection:
        found = statuses(connection, tenant)
        lat = latencies(connection, tenant) if sql is None else latencies(connection, tenant, sql)
        row = connection.execute(
            "SELECT count(*) FILTER (WHERE success), count(*) FILTER (WHERE NOT success),"
            " count(*) - count(DISTINCT (flow_execution_id, step_id))"
            " FROM automation_event_log WHERE tenant_id = %(t)s",
            {"t": tenant},
        ).fetchone()
    assert row is not None
    completed = found.get("completed", 0)
    return {
        "executions": found,
        "completed": completed,
        "lost": max(0, expected - sum(found.values())),
        "failed": expected - completed,
        "actions_ok": int(row[0]),
        "actions_failed": int(row[1]),
        "duplicated_actions": int(row[2]),
        "missing_actions": max(0, actions_per_execution * completed - int(row[0])),
        "throughput_per_s": round(lat.throughput, 1),
        **lat.summary_ms(),
    }, lat


def _transactions(system: RunningSystem) -> int:
    """Transactions committed or rolled back in our database, as published so far (every
    autocommit statement is one): a proxy for round trips."""
    with system.connect() as connection:
        row = connection.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database"
            " WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


def _wait_queue_empty(system: RunningSystem, timeout_s: float) -> int:
    """Wait until procrastinate's queue is empty (`QUEUED_SQL`); the jobs left if it never is."""
    left = 0
    with system.connect() as connection:

        def empty() -> bool:
            nonlocal left
            row = connection.execute(QUEUED_SQL).fetchone()
            left = int(row[0]) + int(row[1]) if row else 0
            return left == 0

        wait_for(empty, timeout_s)
    return left


def _wait_drained(
    system: RunningSystem, tenant: str, expected: int, timeout_s: float
) -> dict[str, float]:
    """Wait until the tenant has `expected` executions, none pending or running, AND the queue
    is empty (no job waiting or running in any queue but the periodic maintenance one: whatever
    the tasks are, e.g. deliveries of events no flow consumes). Returns PostgreSQL's clock at that
    moment (`at`, epoch s; within the 0.1 s poll), and what was left if the timeout came first."""
    found: dict[str, float] = {}
    with system.connect() as connection:

        def drained() -> bool:
            row = connection.execute(DRAINED_SQL, {"tenant": tenant}).fetchone()
            assert row is not None
            found.update(
                executions=int(row[0]),
                unfinished=int(row[1]),
                queue_left=int(row[2]),
                at=float(row[3]),
            )
            return found["executions"] >= expected and not found["unfinished"] and not row[2]

        wait_for(drained, timeout_s, interval_s=0.1)
    return found


def run_load(
    system: RunningSystem,
    rate: float,
    count: int,
    *,
    flow: dict[str, Any] | None = None,
    actions: int = 2,
    label: str = "",
) -> dict[str, Any]:
    """`count` customers at `rate`/s (open loop; as fast as the API takes them when rate <= 0)
    for a fresh tenant with `flow` (the welcome flow by default); figures end to end.

    The window opens on an empty queue and closes only when every execution is finished AND
    procrastinate's queue is empty again: the CPU meter (every process serving us, PostgreSQL
    included, the bench's own backends excluded) stops then, and pg_stat_database's transaction
    counter is read once PostgreSQL has published it, minus the bench's own statements."""
    tenant, token = setup_tenant(system, welcome() if flow is None else flow)
    queued_at_start = _wait_queue_empty(system, timeout_s=60)
    time.sleep(STATS_FLUSH_S)  # the setup's transactions published before the first reading
    transactions = _transactions(system)
    bench_statements = BenchConnection.statements
    with (
        MemorySampler(system.roles) as memory,
        QueueSampler(system.connect) as queue,
        CpuMeter(system.roles) as cpu,
    ):
        sent, errors, spent = drive_customers(system, token, rate, count)
        # A refused POST may still have committed (a timeout): wait for what was created.
        created, first_created = _customers(system, tenant)
        end = _wait_drained(system, tenant, created, timeout_s=max(120, count / 5))
        cpu.stop()
        queue.stop()
    time.sleep(STATS_FLUSH_S)  # the last transactions published
    bench_statements = BenchConnection.statements - bench_statements
    transactions = _transactions(system) - transactions - bench_statements
    figures, _ = _figures(system, tenant, created, actions)
    completed = figures["completed"]
    seconds = end["at"] - first_created if created else 0.0
    return {
        "scenario": label or f"load rate={rate or 'max'}/s",
        "events": count,
        "http_errors": errors,
        "offered_per_s": round(sent / spent, 1),
        **figures,
        "executions_per_s": round(completed / seconds, 1) if seconds > 0 else 0.0,
        "seconds_to_empty_queue": round(seconds, 1),
        "queued_jobs_at_start": queued_at_start,
        "queue_left_jobs": int(end["queue_left"]),
        "unfinished_executions": int(end["unfinished"]),
        **queue.figures(),
        "cpu_ms_per_execution": cpu.per_item_ms(completed),
        "db_transactions_per_execution": round(transactions / max(1, completed), 1),
        "bench_transactions_excluded": bench_statements,
        **memory.figures(),
    }


def steady(system: RunningSystem, count: int, rate: float = 0) -> list[dict[str, Any]]:
    """Two regimes, each measured until the queue is empty, side by side in one row.

    drained backlog: `count` customers as fast as the API takes them (a closed loop of 64 POSTs
    in flight outruns the flows and builds a backlog), then drained: executions/s from the first
    customer to the empty queue, and (`sustained_executions_per_s`, the old figure) to the last
    action's log row. near-empty queue: an open loop at half the drained rate (or `rate`),
    ~30 s: latency, and the cost per execution when workers mostly wait for work."""
    drained = run_load(system, 0, count, label="drained backlog")
    half = rate or max(1.0, drained["executions_per_s"] / 2)
    latency_count = max(50, min(count, int(half * 30)))
    near = run_load(system, half, latency_count, label="near-empty queue")
    row: dict[str, Any] = {
        "scenario": "steady: drained backlog | near-empty queue",
        "sustained_executions_per_s": drained.pop("throughput_per_s"),
        "near_empty_rate_per_s": round(half, 1),
    }
    near["sustained_executions_per_s"] = near.pop("throughput_per_s")
    for prefix, figures in (("drained_", drained), ("near_empty_", near)):
        figures.pop("scenario")
        row |= {prefix + key: value for key, value in figures.items()}
    return [row]


def live_sale(
    system: RunningSystem, orders: int, quiet_rate: float, order_rate: float = 0
) -> dict[str, Any]:
    """Tenant A: `orders` order.created events as fast as the API takes them (an order flow);
    meanwhile tenant B's customers keep coming at `quiet_rate`/s: B's latency is the figure."""
    busy, busy_token = setup_tenant(system, ORDER_FLOW)
    quiet, quiet_token = setup_tenant(system, welcome())
    headers = {"Authorization": f"Bearer {busy_token}"}
    product = httpx.post(
        f"{system.base_url}/api/products",
        json={"name": "Sale item", "price": 10, "inventory": 10**9},
        headers=headers,
        timeout=30,
    ).json()
    customer = httpx.post(
        f"{system.base_url}/api/customers", json={"name": "Buyer"}, headers=headers, timeout=30
    ).json()
    order = {"customer_id": customer["id"], "items": [{"product_id": product["id"], "quantity": 1}]}

    async def both() -> tuple[tuple[int, int, float], tuple[int, int, float], float]:
        stop = asyncio.Event()
        quiet_task = asyncio.create_task(drive(system, quiet_token, quiet_rate, 10**9, stop=stop))
        await asyncio.sleep(2)  # B flows before the sale starts
        burst = await drive(system, busy_token, order_rate, orders, "/api/orders", lambda i: order)
        drained = await asyncio.to_thread(_settle, system, busy, orders, max(300, orders / 5))
        del drained
        drain_s = time.monotonic()
        stop.set()
        return burst, await quiet_task, drain_s

    with MemorySampler(system.roles) as memory:
        burst, quiet_sent, _ = uvloop.run(both())
        _settle(system, quiet, quiet_sent[0], timeout_s=120)
    busy_figures, _ = _figures(system, busy, orders, 1, EXECUTION_SPAN_SQL)
    quiet_figures, _ = _figures(system, quiet, quiet_sent[0], 2)
    return {
        "scenario": f"live sale: {orders} orders (A) + customers at {quiet_rate}/s (B)",
        "burst_orders": orders,
        "burst_http_errors": burst[1],
        "burst_offered_per_s": round(burst[0] / burst[2], 1),
        "burst_seconds": round(burst[2], 1),
        "A_completed": busy_figures["completed"],
        "A_lost": busy_figures["lost"],
        "A_throughput_per_s": busy_figures["throughput_per_s"],
        "A_p50_ms": busy_figures["p50_ms"],
        "B_events": quiet_sent[0],
        "B_completed": quiet_figures["completed"],
        "B_lost": quiet_figures["lost"],
        "B_p50_ms": quiet_figures["p50_ms"],
        "B_p95_ms": quiet_figures["p95_ms"],
        "B_p99_ms": quiet_figures["p99_ms"],
        "duplicated_actions": busy_figures["duplicated_actions"]
        + quiet_figures["duplicated_actions"],
        **memory.figures(),
    }


def add_other_flows(system: RunningSystem, flows: int, tenants: int = 100) -> None:
    """Bulk-insert `flows` active customer.created flows spread over `tenants` OTHER tenants."""
    if flows <= 0:
        return
    tenants = max(1, min(tenants, flows))
    definition = json.dumps(welcome()["flow_definition"])
    with system.connect() as connection:
        connection.execute(
            "INSERT INTO tenants (id, name) SELECT gen_random_uuid(), 'other-' || g || '-' || %(s)s"
            " FROM generate_series(1, %(n)s) g",
            {"n": tenants, "s": uuid.uuid4().hex[:6]},
        )
        connection.execute(
            """
            INSERT INTO automation_flows
                (id, tenant_id, name, trigger_event, flow_definition, status)
            SELECT gen_random_uuid(), t.id, 'other flow ' || g, 'customer.created',
                   %(d)s::jsonb, 'active'
            FROM generate_series(1, %(f)s) g
            JOIN (SELECT id, row_number() OVER () - 1 AS k FROM tenants
                  WHERE name LIKE 'other-%%') t ON t.k = g %% %(n)s
            """,
            {"d": definition, "f": flows, "n": tenants},
        )
        connection.execute("ANALYZE automation_flows")


def matching_us(system: RunningSystem, tenant: str) -> float:
    """The intake's flow lookup (the `flows` part of `start_executions`), as PostgreSQL times
    it (median of 20)."""
    times = []
    with system.connect() as connection:
        for _ in range(20):
            plan = connection.execute(
                "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM automation_flows"
                " WHERE tenant_id = %(t)s AND trigger_event = 'customer.created'"
                " AND status = 'active' ORDER BY created_at, id",
                {"t": tenant},
            ).fetchone()
            assert plan is not None
            times.append(float(plan[0][0]["Execution Time"]))  # type: ignore[index]
    times.sort()
    return round(1000 * times[len(times) // 2], 1)


def flow_growth(system: RunningSystem, rate: float, count: int, steps: list[int]) -> dict[str, Any]:
    """Fixed load on one tenant while other tenants hold more and more flows."""
    added = 0
    rows = {}
    for total in steps:
        add_other_flows(system, total - added)
        added = total
        result = run_load(system, rate, count, label=f"{total} flows elsewhere")
        tenant = _last_tenant(system)
        rows[str(total)] = {
            "throughput_per_s": result["throughput_per_s"],
            "p50_ms": result["p50_ms"],
            "p99_ms": result["p99_ms"],
            "lost": result["lost"],
            "match_query_us": matching_us(system, tenant),
        }
    return {"scenario": f"cost vs flows of other tenants (rate {rate}/s)", "by_flows": rows}


def step_growth(
    system: RunningSystem, rate: float, count: int, actions: list[int]
) -> dict[str, Any]:
    rows = {}
    for n in actions:
        result = run_load(system, rate, count, flow=flow_with_actions(n), actions=n)
        rows[str(n)] = {
            "throughput_per_s": result["throughput_per_s"],
            "actions_per_s": round(result["throughput_per_s"] * n, 1),
            "p50_ms": result["p50_ms"],
            "p99_ms": result["p99_ms"],
            "lost": result["lost"],
            "duplicated_actions": result["duplicated_actions"],
            "missing_actions": result["missing_actions"],
        }
    label = "executions/s at saturation" if rate <= 0 else f"rate {rate}/s"
    return {"scenario": f"cost vs actions per flow ({label})", "by_actions": rows}


def _last_tenant(system: RunningSystem) -> str:
    with system.connect() as connection:
        row = connection.execute(
            "SELECT id FROM tenants WHERE name LIKE 'bench-%%' ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    assert row is not None
    return str(row[0])


def soak(system: RunningSystem, rate: float, seconds: float) -> dict[str, Any]:
    """`rate` customers/s for `seconds`; memory sampled throughout: flat or not."""
    tenant, token = setup_tenant(system, welcome())
    count = int(rate * seconds)
    with MemorySampler(system.roles, interval_s=5) as memory:
        sent, errors, _ = drive_customers(system, token, rate, count)
        _settle(system, tenant, sent, timeout_s=300)
    figures, _ = _figures(system, tenant, sent, 2)
    samples = memory.samples
    timeline = []
    for fraction in (0.05, 0.25, 0.5, 0.75, 1.0):
        at, total, by_role = samples[min(len(samples) - 1, int(fraction * (len(samples) - 1)))]
        timeline.append(
            {"t_s": round(at), "pss_mb": round(total, 1)}
            | {k: round(v, 1) for k, v in sorted(by_role.items())}
        )
    second_half = [s for s in samples if s[0] >= samples[-1][0] / 2]
    slope = 0.0
    if len(second_half) > 2:
        xs = [s[0] for s in second_half]
        ys = [s[2].get("bcs serve", 0.0) for s in second_half]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        var = sum((x - mx) ** 2 for x in xs)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    return {
        "scenario": f"soak {seconds:.0f} s at {rate}/s",
        "events": sent,
        "http_errors": errors,
        **{k: figures[k] for k in ("completed", "lost", "duplicated_actions", "p50_ms", "p99_ms")},
        "memory_timeline": timeline,
        "bcs_serve_pss_slope_mb_per_min_second_half": round(slope * 60, 2),
        **memory.figures(),
    }
