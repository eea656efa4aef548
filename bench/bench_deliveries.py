"""Webhook deliveries per second: `bcs worker` processes delivering to a local HTTP receiver.

    .venv/bin/python bench/bench_deliveries.py [--events 2000] [--workers 2] [--concurrency 16]
                                               [--runs 3] [--with-plugin]

A fresh database on the test server (`BCS_DATABASE_URL`'s server, else the embedded one under
`var/pg`), one tenant with one subscription to a receiver on 127.0.0.1 (asyncio + h11, answers
200 at once). The workers start first and idle; the clock runs from the first event committed
until the receiver has answered every delivery, so it covers the outbox fan-out, NOTIFY
wake-up, signing, HTTP and the recording of every attempt. The automation plugin's subscription
is paused unless `--with-plugin` (each event then also goes through the in-process plugin and
starts a flow job). Prints every run and the median.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration.bus.receiver import Receiver  # noqa: E402

from bettercallsold.bus.models import WebhookSubscription  # noqa: E402
from bettercallsold.bus.outbox import record_event  # noqa: E402
from bettercallsold.bus.signing import new_secret  # noqa: E402
from bettercallsold.db.embedded import embedded_server_url  # noqa: E402
from bettercallsold.db.engine import make_engine, make_sessionmaker  # noqa: E402
from bettercallsold.db.migrate import migrate  # noqa: E402
from bettercallsold.db.url import libpq_url, with_database  # noqa: E402
from bettercallsold.tenancy.service import create_tenant  # noqa: E402
from bettercallsold.types import TenantContext  # noqa: E402


def _server_url() -> str:
    return os.environ.get("BCS_DATABASE_URL") or embedded_server_url(ROOT / "var", "postgres")


async def _wait_workers(engine: AsyncEngine, count: int) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        async with engine.connect() as connection:
            found = await connection.scalar(text("SELECT count(*) FROM procrastinate_workers"))
        if found and found >= count:
            return
        await asyncio.sleep(0.2)
    raise SystemExit("the workers did not start")


def start_workers(
    args: argparse.Namespace, url: str, var_dir: Path
) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "BCS_DATABASE_URL": url,
        "BCS_VAR_DIR": str(var_dir),
        "BCS_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
        "BCS_LOG_LEVEL": "WARNING",
    }
    bcs = Path(sys.executable).with_name("bcs")
    command = [str(bcs), "worker", "--concurrency", str(args.concurrency)]
    return [subprocess.Popen(command, env=env) for _ in range(args.workers)]


async def bench(args: argparse.Namespace, url: str) -> list[float]:
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rates: list[float] = []
    try:
        await _wait_workers(engine, args.workers)
        if not args.with_plugin:
            async with engine.begin() as connection:
                await connection.execute(
                    text(
                        "UPDATE webhook_subscriptions SET status = 'paused' WHERE tenant_id IS NULL"
                    )
                )
        for run in range(args.runs):
            async with Receiver() as receiver:
                async with sessions() as session, session.begin():
                    tenant = await create_tenant(session, f"bench-{uuid.uuid4().hex[:8]}")
                    session.add(
                        WebhookSubscription(
                            tenant_id=tenant.tenant_id,
                            url=receiver.url,
                            event_types=["*"],
                            secret=new_secret(),
                            status="active",
                        )
                    )
                context = TenantContext(tenant_id=tenant.tenant_id)
                started = time.perf_counter()
                for first in range(0, args.events, 500):
                    async with sessions() as session, session.begin():
                        for index in range(first, min(args.events, first + 500)):
                            payload = {"customer_id": str(uuid.uuid4()), "name": f"c{index}"}
                            await record_event(session, context, "customer.created", payload)
                await receiver.wait_answers(args.events, seconds=600)
                elapsed = time.perf_counter() - started
            rate = args.events / elapsed
            rates.append(rate)
            print(
                f"run {run + 1}: {args.events} deliveries in {elapsed:.2f} s = {rate:.0f}/s",
                flush=True,
            )
    finally:
        await engine.dispose()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--with-plugin", action="store_true")
    args = parser.parse_args()

    server = _server_url()
    name = f"bcs_bench_{uuid.uuid4().hex[:8]}"
    url = with_database(server, name)
    migrate(url)
    try:
        with tempfile.TemporaryDirectory() as var_dir:
            workers = start_workers(args, url, Path(var_dir))
            try:
                rates = asyncio.run(bench(args, url))
            finally:
                for worker in workers:
                    worker.send_signal(signal.SIGTERM)
                for worker in workers:
                    worker.wait(timeout=60)
    finally:
        with psycopg.connect(libpq_url(with_database(server, "postgres")), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(
        f"median of {len(rates)} runs: {statistics.median(rates):.0f} deliveries/s "
        f"({args.workers} worker processes x concurrency {args.concurrency}, "
        f"{os.cpu_count()} CPUs, plugin {'on' if args.with_plugin else 'paused'})"
    )


if __name__ == "__main__":
    main()
