"""SIGTERM on a `bcs worker`: running flows finish within BCS_WORKER_SHUTDOWN_SECONDS, and those
still running at that bound go back to the queue (not `aborted`, never lost) for the next
worker. The flows' action batches go to a stub receiver the test can hold."""

from __future__ import annotations

import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.chaos.conftest import WELCOME_FLOW
from tests.chaos.processes import ApiProcess, BcsProcess, base_env, eventually, free_port
from tests.chaos.stub_receiver import StubReceiver
from tests.chaos.system import Tenant, counts, create_flow, create_tenant, start_worker

pytestmark = pytest.mark.slow

FLOWS = 4


@dataclass
class Stack:
    api: ApiProcess
    stub: StubReceiver
    tenant: Tenant
    db: psycopg.AsyncConnection[Any]
    worker_env: dict[str, str]
    log_dir: Path
    processes: list[BcsProcess]

    def worker(self, name: str, **settings: str) -> BcsProcess:
        env = self.worker_env | {f"BCS_{k.upper()}": v for k, v in settings.items()}
        process = BcsProcess(name, ["worker", "--concurrency", "8"], env, self.log_dir)
        self.processes.append(process)
        return process

    async def new_customers(self, count: int, email: str = "c{}@example.com") -> None:
        async with httpx.AsyncClient(
            base_url=self.api.url, headers={"Authorization": f"Bearer {self.tenant.token}"}
        ) as client:
            for index in range(count):
                body = {"name": f"Customer {index}", "email": email.format(index)}
                response = await client.post("/api/customers", json=body)
                assert response.status_code == 201, response.text

    async def executions(self) -> dict[str, int]:
        return await counts(
            self.db,
            "SELECT status, count(*) FROM automation_executions WHERE tenant_id = %(t)s GROUP BY 1",
            t=self.tenant.tenant_id,
        )

    async def flow_jobs(self) -> dict[str, int]:
        return await counts(
            self.db,
            "SELECT status, count(*) FROM procrastinate_jobs "
            "WHERE task_name = 'automation:run_execution' GROUP BY 1",
        )

    async def batches_arrived(self, count: int) -> None:
        async def arrived() -> bool:
            return len(self.stub.server.requests) >= count

        await eventually(arrived, seconds=60, what=f"{count} batches at the stub receiver")


@pytest.fixture
async def stack(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
    db: psycopg.AsyncConnection[Any],
) -> AsyncIterator[Stack]:
    """The API (the bus delivers to its plugin directly) and a stub receiver for the workers."""
    port = free_port()
    plugin = {"plugin_url": f"http://127.0.0.1:{port}"}
    api = ApiProcess(base_env(chaos_database_url, chaos_var_dir, **plugin), log_dir, port)
    processes.append(api)
    api.start()
    await api.wait_healthy()
    tenant = await create_tenant(api.env, "shutdown")
    await create_flow(api.url, tenant, WELCOME_FLOW)
    async with StubReceiver() as stub:
        worker_env = base_env(chaos_database_url, chaos_var_dir, platform_url=stub.url, **plugin)
        yield Stack(api, stub, tenant, db, worker_env, log_dir, processes)


async def test_sigterm_lets_running_flows_finish(stack: Stack) -> None:
    worker = stack.worker("worker", worker_shutdown_seconds="30", log_level="INFO")
    await start_worker(stack.db, worker)
    stack.stub.hold.clear()
    await stack.new_customers(FLOWS)
    await stack.batches_arrived(FLOWS)

    worker.send(signal.SIGTERM)  # while every flow waits for the receiver

    async def stopping() -> bool:
        return "Stop requested" in worker.log.read_text()

    await eventually(stopping, seconds=10, what="the worker to take the SIGTERM")
    assert worker.alive, "the worker left before its flows finished"
    stack.stub.hold.set()
    assert await worker.wait_exit(30) == 0

    assert await stack.executions() == {"completed": FLOWS}  # by this worker, before it left
    assert len(stack.stub.batches()) == FLOWS  # nothing was sent twice
    assert await stack.flow_jobs() == {}  # finished jobs are deleted: none left behind


async def test_flows_still_running_at_the_bound_go_back_to_the_queue(stack: Stack) -> None:
    first = stack.worker("first", worker_shutdown_seconds="1")
    await start_worker(stack.db, first)
    stack.stub.hold.clear()
    await stack.new_customers(FLOWS)
    await stack.batches_arrived(FLOWS)

    started = time.monotonic()
    assert await first.stop(30) == 0
    stopped_in = time.monotonic() - started

    assert stopped_in < 15, f"SIGTERM took {stopped_in:.1f} s with a 1 s bound"
    assert await stack.executions() == {"running": FLOWS}
    assert await stack.flow_jobs() == {"todo": FLOWS}  # not aborted: queued again

    stack.stub.hold.set()
    second = stack.worker("second")
    await start_worker(stack.db, second)

    async def finished() -> bool:
        return await stack.executions() == {"completed": FLOWS}

    await eventually(finished, seconds=60, what="the flows to finish on the second worker")
    keys = [batch["flow_execution_id"] for batch in stack.stub.batches()]
    assert len(keys) == 2 * FLOWS  # each flow's batch was cut once and sent again
    assert len(set(keys)) == FLOWS
    assert await second.stop() == 0
