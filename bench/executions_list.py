"""The executions list at a busy shop's scale: p50/p95 of one page per filter.

    .venv/bin/python bench/executions_list.py [--rows 1000000] [--other-rows 100000]
                                              [--samples 60] [--keep]

A scratch database on `BCS_DATABASE_URL`'s server (else the embedded one under `var/pg`),
migrated as `bcs migrate` does; one tenant with 20 flows and `--rows` executions spread over
30 days (loaded by `generate_series` in SQL, 100,000 rows a statement), another tenant with
`--other-rows` (so the tenant scope is not the whole table), then `VACUUM ANALYZE`. Statuses:
90 % completed, 5 % skipped, 2 % completed_with_errors, 2.5 % failed, 0.5 % running; each
trigger carries a distinct email, name and customer id, and one of 10 `source` values.

Each sample is one call of the list's service (`automation.executions.list_executions`, as the
route calls it: the page of 50 rows, its event-log query and the response models), on a warm
pool, with parameters varied per sample (another flow, another window, another email).
Prints the p50/p95 per filter and the insights' too. The scratch database is dropped unless
`--keep`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bettercallsold.automation import executions, insights  # noqa: E402
from bettercallsold.db.embedded import embedded_server_url  # noqa: E402
from bettercallsold.db.engine import make_engine, make_sessionmaker  # noqa: E402
from bettercallsold.db.migrate import migrate  # noqa: E402
from bettercallsold.db.url import libpq_url, with_database  # noqa: E402
from bettercallsold.http.pagination import PageRequest  # noqa: E402
from bettercallsold.receiver.action_log import ReceiverActionLog  # noqa: E402

FLOWS = 20
DAYS = 30
CHUNK = 100_000

_FLOWS = """
    INSERT INTO automation_flows (id, tenant_id, name, trigger_event, flow_definition, status)
    SELECT gen_random_uuid(), %(tenant)s, 'flow ' || n, 'customer.created', '{"steps": []}',
           'active'
    FROM generate_series(1, %(flows)s) AS n
    RETURNING id
"""

# Row i starts i * span / rows before `now`: newest first is i ascending. The status comes
# from a hash of i, so every flow and every hour holds each status in the same shares.
_EXECUTIONS = """
    INSERT INTO automation_executions (id, flow_id, tenant_id, status, trigger_data,
        execution_results, started_at, completed_at, error, event_id, event_type,
        causation_depth, steps, definition, flow_version)
    SELECT gen_random_uuid(), (%(flows)s::uuid[])[1 + i %% %(flow_count)s], %(tenant)s, status,
           jsonb_build_object('email', 'customer' || i || '@example.com',
                              'name', 'Customer ' || i, 'customer_id', md5(i::text),
                              'source', 'channel ' || (i %% 10)),
           '[]', started,
           CASE WHEN status = 'running' THEN NULL
                ELSE started + (20 + (i * 7) %% 400) * interval '1 millisecond' END,
           CASE WHEN status = 'failed' THEN 'receiver refused: error ' || (i %% 7) END,
           'evt_' || i, 'customer.created', 0, '[]', '{"steps": []}', 1
    FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS i,
    LATERAL (SELECT %(now)s::timestamptz - i * %(step)s * interval '1 microsecond' AS started,
                    CASE WHEN (i * 7919) %% 1000 < 900 THEN 'completed'
                         WHEN (i * 7919) %% 1000 < 950 THEN 'skipped'
                         WHEN (i * 7919) %% 1000 < 970 THEN 'completed_with_errors'
                         WHEN (i * 7919) %% 1000 < 995 THEN 'failed'
                         ELSE 'running' END AS status) AS row
"""


def _server_url() -> str:
    return os.environ.get("BCS_DATABASE_URL") or embedded_server_url(ROOT / "var", "postgres")


def _tenant(connection: psycopg.Connection[Any], name: str) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    connection.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant_id, name))
    return tenant_id


def load(url: str, rows: int, other_rows: int, now: datetime) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """The bench tenant (and its flows), with `rows` executions; another with `other_rows`."""
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        tenants = [(_tenant(connection, "bench"), rows), (_tenant(connection, "other"), other_rows)]
        flows_of: dict[uuid.UUID, list[uuid.UUID]] = {}
        for tenant_id, count in tenants:
            found = connection.execute(_FLOWS, {"tenant": tenant_id, "flows": FLOWS}).fetchall()
            flows_of[tenant_id] = [flow_id for (flow_id,) in found]
            step = DAYS * 86_400 * 1_000_000 // max(count, 1)
            started = time.perf_counter()
            for first in range(1, count + 1, CHUNK):
                parameters = {
                    "tenant": tenant_id,
                    "flows": flows_of[tenant_id],
                    "flow_count": FLOWS,
                    "first": first,
                    "last": min(count, first + CHUNK - 1),
                    "now": now,
                    "step": step,
                }
                connection.execute(_EXECUTIONS, parameters)
                print(
                    f"  loaded {min(count, first + CHUNK - 1):>9,} executions"
                    f" ({time.perf_counter() - started:.0f} s)",
                    flush=True,
                )
        started = time.perf_counter()
        connection.execute("VACUUM ANALYZE automation_executions")
        print(f"  VACUUM ANALYZE: {time.perf_counter() - started:.0f} s", flush=True)
        bench_tenant = tenants[0][0]
    return bench_tenant, flows_of[bench_tenant]


Sample = Callable[[random.Random], Awaitable[object]]


async def measure(
    url: str, tenant_id: uuid.UUID, flows: list[uuid.UUID], rows: int, now: datetime, samples: int
) -> list[tuple[str, float, float, float]]:
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    first_page = PageRequest(limit=50, after=None)
    span = timedelta(days=DAYS)

    def moment(rng: random.Random) -> datetime:
        return now - span * rng.random()

    def email(rng: random.Random) -> str:
        return f"customer{rng.randrange(1, rows + 1)}@example.com"

    def listing(
        choose: Callable[[random.Random], dict[str, Any]] = lambda rng: {},
        page: Callable[[random.Random], PageRequest] = lambda rng: first_page,
    ) -> Sample:
        async def sample(rng: random.Random) -> object:
            request, filters = page(rng), choose(rng)
            async with sessions() as session:
                return await executions.list_executions(
                    session, tenant_id, request, action_log=ReceiverActionLog(), **filters
                )

        return sample

    def hour(rng: random.Random) -> dict[str, Any]:
        start = moment(rng)
        return {"since": start, "until": start + timedelta(hours=1)}

    def insight(hours: int, per_flow: bool) -> Sample:
        async def sample(rng: random.Random) -> object:
            flow_id = rng.choice(flows) if per_flow else None
            async with sessions() as session:
                return await insights.insights(
                    session, tenant_id, now, hours=hours, flow_id=flow_id
                )

        return sample

    def flow(rng: random.Random) -> uuid.UUID:
        return rng.choice(flows)

    def deep(rng: random.Random) -> PageRequest:
        return PageRequest(limit=50, after=(moment(rng), uuid.uuid4()))

    cases: list[tuple[str, Sample]] = [
        ("no filter (first page)", listing()),
        (
            "no filter, a page deep in the list (cursor)",
            listing(page=deep),
        ),
        ("flow_id", listing(lambda rng: {"flow_id": flow(rng)})),
        ("flow_id, a page deep (cursor)", listing(lambda rng: {"flow_id": flow(rng)}, deep)),
        ("status=completed (90 %)", listing(lambda rng: {"status": "completed"})),
        ("status=failed (2.5 %)", listing(lambda rng: {"status": "failed"})),
        ("status=failed, a page deep (cursor)", listing(lambda rng: {"status": "failed"}, deep)),
        ("status=running (0.5 %)", listing(lambda rng: {"status": "running"})),
        ("since (last 24 h)", listing(lambda rng: {"since": now - timedelta(hours=24)})),
        ("since + until (a 1 h window)", listing(hour)),
        ("q = an email (1 match)", listing(lambda rng: {"q": email(rng)})),
        ("q = no match", listing(lambda rng: {"q": f"nobody{rng.random()}@example.com"})),
        ("q = a value of 10 % (100,000 matches)", listing(lambda rng: {"q": "Channel 3"})),
        (
            "flow_id + status=failed",
            listing(lambda rng: {"flow_id": flow(rng), "status": "failed"}),
        ),
        (
            "flow_id + status=running",
            listing(lambda rng: {"flow_id": flow(rng), "status": "running"}),
        ),
        (
            "status=failed + since + until (1 h)",
            listing(lambda rng: {"status": "failed", **hour(rng)}),
        ),
        ("insights, tenant, 24 h", insight(24, per_flow=False)),
        ("insights, one flow, 24 h", insight(24, per_flow=True)),
        ("insights, tenant, 168 h", insight(168, per_flow=False)),
    ]
    results = []
    try:
        rng = random.Random(20261202)
        for name, sample in cases:
            for _ in range(3):  # warm the pool, the plan cache and the pages
                await sample(rng)
            timings = []
            for _ in range(samples):
                started = time.perf_counter()
                await sample(rng)
                timings.append((time.perf_counter() - started) * 1000)
            timings.sort()
            p50 = statistics.median(timings)
            p95 = timings[min(len(timings) - 1, round(0.95 * (len(timings) - 1)))]
            results.append((name, p50, p95, timings[-1]))
            print(f"  {name:<46} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms", flush=True)
    finally:
        await engine.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--other-rows", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()

    server = _server_url()
    name = f"bcs_bench_executions_{uuid.uuid4().hex[:8]}"
    url = with_database(server, name)
    migrate(url)
    try:
        now = datetime.now(UTC)
        started = time.perf_counter()
        tenant_id, flows = load(url, args.rows, args.other_rows, now)
        print(f"loaded in {time.perf_counter() - started:.0f} s; measuring", flush=True)
        results = asyncio.run(measure(url, tenant_id, flows, args.rows, now, args.samples))
    finally:
        if args.keep:
            print(f"kept: {url}")
        else:
            admin = libpq_url(with_database(server, "postgres"))
            with psycopg.connect(admin, autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"\n{args.rows:,} executions of one tenant (+{args.other_rows:,} of another), "
        f"{args.samples} samples per filter, {os.cpu_count()} CPUs"
    )
    print("| filter | p50 ms | p95 ms | max ms |\n| --- | --- | --- | --- |")
    for filter_name, p50, p95, worst in results:
        print(f"| {filter_name} | {p50:.1f} | {p95:.1f} | {worst:.1f} |")


if __name__ == "__main__":
    main()
