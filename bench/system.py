"""Start the system as a user would (`bcs serve`, optionally `bcs worker`s) on a fresh database.

`embedded`: a brand-new embedded PostgreSQL under a temporary `BCS_VAR_DIR` (what `make run`
gives a user). `server`: a fresh database on the PostgreSQL named by `--server-url`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg
from psycopg import sql

BCS = str(Path(sys.executable).with_name("bcs"))
"""The venv's entry point (`#!<venv>/bin/python`, `from bettercallsold.cli import main`). The
package is installed editable through a `.pth` file naming this checkout's `src`, which Python
puts on sys.path after the PYTHONPATH entries: with `PYTHONPATH=<other checkout>/src` (what
`--src` sets), every `bcs` process imports that checkout's code with this venv's dependencies."""


class BenchConnection(psycopg.Connection[tuple[Any, ...]]):
    """A connection of the bench itself. Its statements are counted (each autocommit statement
    is one PostgreSQL transaction, which the figures subtract) and its backend is left out of the
    CPU and memory figures (`RunningSystem.roles`)."""

    statements = 0
    _lock = threading.Lock()

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        with BenchConnection._lock:
            BenchConnection.statements += 1
        return super().execute(*args, **kwargs)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningSystem:
    base_url: str
    env: dict[str, str]
    database_url: str
    database: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    var_dir: Path | None = None
    bench_pids: set[int] = field(default_factory=set)

    def bcs(self, *args: str) -> str:
        done = subprocess.run(
            [BCS, *args], env=self.env, capture_output=True, text=True, check=True, timeout=120
        )
        return done.stdout

    def create_tenant(self, name: str) -> tuple[str, str]:
        issued = json.loads(self.bcs("tenants", "create", name))
        return issued["tenant_id"], issued["api_token"]

    def roles(self) -> dict[int, str]:
        """pid → role of our processes and of the PostgreSQL processes serving us: the
        embedded postmaster and all its children, or (server mode) the server's own processes
        (postmaster, checkpointer, WAL writer, ...) and the backends connected to our database,
        not those of other databases on the same server."""
        found: dict[int, str] = {}
        for proc in self.processes:
            if proc.poll() is None:
                found[proc.pid] = "bcs serve" if "serve" in list(proc.args) else "bcs worker"
        pidfile = self.var_dir / "pg" / "postmaster.pid" if self.var_dir else None
        if pidfile is not None and pidfile.exists():
            with contextlib.suppress(psutil.Error, ValueError):
                postmaster = psutil.Process(int(pidfile.read_text().split()[0]))
                found[postmaster.pid] = "postgres"
                for child in postmaster.children():
                    found[child.pid] = "postgres"
            return self._without_bench(found)
        with contextlib.suppress(psycopg.Error), self.connect() as connection:
            rows = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " OR backend_type NOT IN ('client backend', 'parallel worker', 'walsender')"
            ).fetchall()
            found.update({int(row[0]): "postgres" for row in rows})
        for proc in psutil.process_iter(["name", "ppid"]):
            # the postmaster itself is not in pg_stat_activity
            if proc.info["name"] == "postgres" and proc.info["ppid"] == 1:
                found[proc.pid] = "postgres"
        return self._without_bench(found)

    def _without_bench(self, found: dict[int, str]) -> dict[int, str]:
        """The bench's own backends (its probes, samplers, this very listing) are not ours."""
        return {pid: role for pid, role in found.items() if pid not in self.bench_pids}

    def connect(self) -> BenchConnection:
        """A connection for the bench's own queries: counted, and its backend excluded."""
        connection = BenchConnection.connect(self.database_url, autocommit=True)
        row = connection.execute("SELECT pg_backend_pid()").fetchone()
        if row is not None:
            self.bench_pids.add(int(row[0]))
        return connection


def _wait_healthy(base_url: str, deadline_s: float = 60) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("bcs serve did not become healthy")


@contextlib.contextmanager
def start_system(
    database: str,
    server_url: str,
    workers: int,
    concurrency: int,
    profile: str | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[RunningSystem]:
    """A fresh system; with `profile`, py-spy samples `bcs serve` into that file (collapsed
    stacks, `py-spy record -f raw`) from start to end; `python -m bench.hotspots FILE` sums it.
    `settings`: more `BCS_*` variables for every process (`{"BCS_DATABASE_POOL_SIZE": "12"}`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BCS_")} | (settings or {})
    var_dir = Path(tempfile.mkdtemp(prefix="bcs-bench-"))
    env["BCS_VAR_DIR"] = str(var_dir)
    env["BCS_LOG_LEVEL"] = "WARNING"
    env["BCS_WORKER_CONCURRENCY"] = str(concurrency)
    created_db: str | None = None
    if database == "server":
        created_db = f"bcs_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server_url, autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(created_db)))
        base = server_url.rsplit("/", 1)[0]
        env["BCS_DATABASE_URL"] = f"{base}/{created_db}"
    subprocess.run([BCS, "migrate"], env=env, check=True, capture_output=True, timeout=300)
    database_url = env.get("BCS_DATABASE_URL") or _embedded_url(var_dir)
    port = free_port()
    system = RunningSystem(f"http://127.0.0.1:{port}", env, database_url, database, var_dir=var_dir)
    serve = [BCS, "serve", "--port", str(port)] + (["--no-worker"] if workers else [])
    system.processes.append(subprocess.Popen(serve, env=env))
    for _ in range(workers):
        system.processes.append(
            subprocess.Popen([BCS, "worker", "--concurrency", str(concurrency)], env=env)
        )
    spy: subprocess.Popen[bytes] | None = None
    try:
        _wait_healthy(system.base_url)
        if profile:
            spy = subprocess.Popen(
                [
                    *(str(Path(sys.executable).with_name("py-spy")), "record", "--nonblocking"),
                    *("-r", "100", "-f", "raw", "-o", profile),
                    *("-p", str(system.processes[0].pid)),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        yield system
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        for proc in system.processes:
            proc.terminate()
        for proc in system.processes:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
        if created_db:
            with psycopg.connect(server_url, autocommit=True) as admin:
                admin.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(created_db)
                    )
                )
        else:
            subprocess.run([BCS, "db", "stop"], env=env, capture_output=True, check=False)
        shutil.rmtree(var_dir, ignore_errors=True)


def _embedded_url(var_dir: Path) -> str:
    from bettercallsold.db.embedded import embedded_server_url

    return embedded_server_url(var_dir, "bcs")
