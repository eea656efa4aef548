"""How workers pick deliveries: per-tenant fairness, and LISTEN/NOTIFY latency when idle."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.integration.bus.conftest import MakeBusTenant, StartWorker, eventually
from tests.integration.bus.receiver import Receiver


class TestFairness:
    @pytest.mark.usefixtures("plugin_paused")
    async def test_one_tenants_burst_does_not_starve_another(
        self, make_bus_tenant: MakeBusTenant, start_worker: StartWorker
    ) -> None:
        busy, quiet = await make_bus_tenant(), await make_bus_tenant()
        async with Receiver() as busy_receiver, Receiver() as quiet_receiver:
            await busy.subscribe(busy_receiver.url)
            await quiet.subscribe(quiet_receiver.url)
            # Both queued before any worker runs: FIFO would serve the quiet one last.
            await busy.emit(300)
            await quiet.emit(1)
            async with start_worker(concurrency=4):
                await quiet_receiver.wait_answers(1)
                busy_done_before_quiet = len(busy_receiver.answers)
                await busy_receiver.wait_answers(300, seconds=60)
        assert busy_done_before_quiet < 30, busy_done_before_quiet


class TestLatency:
    async def test_an_idle_worker_is_woken_by_the_commit(
        self, make_bus_tenant: MakeBusTenant, start_worker: StartWorker
    ) -> None:
        tenant = await make_bus_tenant()
        async with Receiver() as receiver:
            await tenant.subscribe(receiver.url)
            # Polling only every 60 s: a prompt delivery can only come from NOTIFY.
            since = time.time()
            async with start_worker(polling=60.0):
                await eventually(lambda: _listening(tenant.runtime.engine, since), what="LISTEN")
                started = time.monotonic()
                response = await tenant.http.post("/api/customers", json={"name": "Ann"})
                assert response.status_code == 201
                await receiver.wait_answers(1, seconds=5)
                latency = time.monotonic() - started
        assert latency < 3.0, latency


async def _listening(engine: AsyncEngine, since: float) -> bool:
    """Whether a worker connection opened after `since` has run its LISTEN."""
    async with engine.connect() as connection:
        listeners = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN %procrastinate%' AND backend_start >= to_timestamp(:since)"
            ),
            {"since": since - 1},
        )
    return bool(listeners)
