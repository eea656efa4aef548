"""The database goes away under a running `bcs serve` (API and worker in one process).

Requests then get a JSON 503 with `Retry-After` (not a plain-text 500: the client did nothing
wrong), `/healthz` says 503, and SIGTERM still stops the process: procrastinate's worker fails on
its way out (unregistering needs the database) and must not be taken for a crashed worker to
start again. The outage is real: the test's database is dropped with its connections
(`DROP DATABASE ... WITH (FORCE)`), so every reconnection fails too.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from bettercallsold.db.url import database_name, libpq_url, with_database
from tests.chaos.processes import ApiProcess, BcsProcess, base_env
from tests.chaos.system import create_tenant
from tests.conftest import _server_url

pytestmark = pytest.mark.slow

SHUTDOWN_SECONDS = 5


async def test_requests_get_503_and_sigterm_still_stops_the_process(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
) -> None:
    env = base_env(chaos_database_url, chaos_var_dir, worker_shutdown_seconds=str(SHUTDOWN_SECONDS))
    api = ApiProcess(env, log_dir, with_worker=True)
    processes.append(api)
    api.start()
    await api.wait_healthy()
    tenant = await create_tenant(env, "outage")
    headers = {"Authorization": f"Bearer {tenant.token}"}
    async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
        assert (await client.get("/api/products", headers=headers)).status_code == 200

        name = database_name(chaos_database_url)
        admin_url = libpq_url(with_database(_server_url(), "postgres"))
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # type: ignore[arg-type]

        response = await client.get("/api/products", headers=headers)
        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"detail": "The database is unavailable; try again shortly."}
        assert response.headers["retry-after"] == "5"
        created = await client.post("/api/customers", json={"name": "Ann"}, headers=headers)
        assert created.status_code == 503, created.text
        assert (await client.get("/healthz")).status_code == 503

    asked = time.monotonic()
    # The graceful stop, then at most one pool timeout (30 s) for procrastinate's last query.
    code = await api.stop(seconds=SHUTDOWN_SECONDS + 60)
    # uvicorn re-raises the SIGTERM it captured once it has shut down: -15 is its clean exit.
    assert code == -signal.SIGTERM, api.log.read_text()[-3000:]
    assert time.monotonic() - asked < SHUTDOWN_SECONDS + 60
    assert "starting it again" not in api.log.read_text().split("Shutting down")[-1]
