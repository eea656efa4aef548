"""`bcs worker` processes against the test database: racing workers deliver each event exactly
once, and the deliveries of a worker killed with SIGKILL are recovered after a restart."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from bettercallsold.runtime import Runtime
from tests.integration.bus.conftest import BusTenant, eventually
from tests.integration.bus.receiver import Receiver, Reply, Request

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("plugin_paused")]

_WORKERS = text("SELECT id FROM procrastinate_workers ORDER BY id")
_DOING_OF = text(
    "SELECT count(*) FROM procrastinate_jobs "
    "WHERE status = 'doing' AND queue_name = 'deliveries' AND worker_id = :worker"
)


class WorkerProcess:
    """One `bcs worker` OS process, configured like an operator would, by environment."""

    def __init__(self, database_url: str, var_dir: Path, log: Path, concurrency: int) -> None:
        executable = Path(sys.executable).with_name("bcs")
        env = {
            **os.environ,
            "BCS_DATABASE_URL": database_url,
            "BCS_VAR_DIR": str(var_dir),  # the same generated secrets as the test's app
            "BCS_WEBHOOK_ALLOW_PRIVATE_URLS": "true",
            "BCS_LOG_LEVEL": "WARNING",
            # keep finished jobs so the test can see which process ran each one
            "BCS_KEEP_FINISHED_JOBS": "true",
            # This file tests races between workers, not timeouts: on a loaded 2-core CI
            # machine a 10 s attempt timeout can fire after the receiver got the request,
            # and the (correct, at-least-once) retry would then look like a double delivery.
            "BCS_WEBHOOK_TIMEOUT_SECONDS": "120",
        }
        self.log = log
        with log.open("ab") as output:
            self.process = subprocess.Popen(
                [str(executable), "worker", "--concurrency", str(concurrency)],
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    async def wait_exit(self, seconds: float = 40.0) -> int:
        async def exited() -> bool:
            return self.process.poll() is not None

        await eventually(exited, seconds=seconds, what=f"worker exit (log: {self.log})")
        return self.process.returncode


StartProcess = Callable[[int], WorkerProcess]


@pytest.fixture
async def worker_processes(
    database_url: str, var_dir: Path, tmp_path: Path
) -> AsyncIterator[StartProcess]:
    started: list[WorkerProcess] = []

    def start(concurrency: int) -> WorkerProcess:
        worker = WorkerProcess(
            database_url, var_dir, tmp_path / f"worker-{len(started)}.log", concurrency
        )
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.signal(signal.SIGTERM)
    for worker in started:
        await worker.wait_exit()


async def _registered(runtime: Runtime, before: set[int], count: int) -> set[int]:
    """Wait until `count` new workers registered in procrastinate; their ids."""
    found: set[int] = set()

    async def check() -> bool:
        async with runtime.engine.connect() as connection:
            found.clear()
            found.update(set((await connection.scalars(_WORKERS)).all()) - before)
        return len(found) >= count

    await eventually(check, seconds=60, what=f"{count} worker processes to start")
    return found


async def _worker_ids(runtime: Runtime) -> set[int]:
    async with runtime.engine.connect() as connection:
        return set((await connection.scalars(_WORKERS)).all())


async def test_two_worker_processes_deliver_1000_events_exactly_once(
    bus_tenant: BusTenant, worker_processes: StartProcess
) -> None:
    runtime = bus_tenant.runtime
    async with Receiver() as receiver:
        subscription = await bus_tenant.subscribe(receiver.url)
        before = await _worker_ids(runtime)
        processes = [worker_processes(8), worker_processes(8)]
        workers = await _registered(runtime, before, 2)

        await bus_tenant.emit(1000)

        async def all_delivered() -> bool:
            return await bus_tenant.status_counts(subscription["id"]) == {"delivered": 1000}

        await eventually(all_delivered, seconds=150, what="1,000 deliveries")
        async with runtime.engine.connect() as connection:
            by_worker: dict[int | None, int] = dict(
                (
                    await connection.execute(
                        text(
                            "SELECT j.worker_id, count(*) FROM procrastinate_jobs j "
                            "JOIN webhook_deliveries d ON d.id::text = j.args->>'delivery_id' "
                            "WHERE d.subscription_id = :subscription GROUP BY j.worker_id"
                        ),
                        {"subscription": subscription["id"]},
                    )
                ).all()
            )
            retried = await connection.scalar(
                text(
                    "SELECT count(*) FROM webhook_deliveries "
                    "WHERE subscription_id = :subscription AND attempt_count <> 1"
                ),
                {"subscription": subscription["id"]},
            )
        for process in processes:
            process.signal(signal.SIGTERM)
        for process in processes:
            assert await process.wait_exit() == 0

    delivered = receiver.delivered_ids()
    assert len(delivered) == 1000
    assert set(delivered.values()) == {1}, "some event was delivered twice"
    assert len(receiver.requests) == 1000
    assert retried == 0
    assert set(by_worker) == workers, by_worker  # both processes took part


async def test_a_killed_worker_s_deliveries_are_recovered_after_restart(
    bus_tenant: BusTenant, worker_processes: StartProcess
) -> None:
    """SIGKILL in the middle of a batch, then a restart: every event is still delivered.

    A worker is declared dead once its heartbeat is 20 s old; instead of waiting, the test ages
    the dead worker's heartbeat, then starts the replacement, whose start-up recovers the jobs.
    """
    runtime = bus_tenant.runtime

    async def a_little_slow(request: Request) -> Reply:
        await asyncio.sleep(0.02)  # the receiver's own work, so deliveries overlap
        return Reply(200)

    async with Receiver(a_little_slow) as receiver:
        subscription = await bus_tenant.subscribe(receiver.url)
        before = await _worker_ids(runtime)
        first = worker_processes(8)
        [first_id] = await _registered(runtime, before, 1)
        await bus_tenant.emit(300)
        await receiver.wait_answers(50, seconds=60)

        first.signal(signal.SIGKILL)
        assert await first.wait_exit() == -signal.SIGKILL
        async with runtime.engine.begin() as connection:
            stalled = await connection.scalar(_DOING_OF, {"worker": first_id})
            await connection.execute(
                text(
                    "UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour' "
                    "WHERE id = :worker"
                ),
                {"worker": first_id},
            )
        assert stalled, "the worker was killed between jobs, not in the middle of a batch"
        counts = await bus_tenant.status_counts(subscription["id"])
        assert counts.get("delivered", 0) < 300

        before = await _worker_ids(runtime)
        worker_processes(8)
        await _registered(runtime, before, 1)

        async def all_delivered() -> bool:
            return await bus_tenant.status_counts(subscription["id"]) == {"delivered": 300}

        await eventually(all_delivered, seconds=90, what="the 300 deliveries after restart")
        async with runtime.engine.connect() as connection:
            orphans = await connection.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' "
                    "AND queue_name = 'deliveries' AND (worker_id IS NULL OR worker_id = :worker)"
                ),
                {"worker": first_id},
            )
        assert orphans == 0

    # At least once: an attempt cut by the kill may have reached the receiver before.
    assert len(receiver.delivered_ids()) == 300
