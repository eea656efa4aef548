"""A `bcs worker` started while PostgreSQL does not answer waits for it, logging each try, and
starts working once it does (it used to exit 1 from the migration step: "connection refused").

PostgreSQL is reached through a TCP relay on a port of our own that listens only from the
moment the test "brings the database back"."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.chaos.processes import BcsProcess, base_env, eventually
from tests.chaos.system import newest_worker_id

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.asynccontextmanager
async def tcp_relay(port: int, upstream_host: str, upstream_port: int) -> AsyncIterator[None]:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(upstream_host, upstream_port)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def test_a_worker_started_before_postgresql_waits_for_it(
    chaos_database_url: str,
    chaos_var_dir: Path,
    log_dir: Path,
    processes: list[BcsProcess],
    db: psycopg.AsyncConnection[Any],
) -> None:
    real = urlsplit(chaos_database_url)
    port = _free_port()
    userinfo = real.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    relayed = urlunsplit(real._replace(netloc=netloc))
    env = base_env(relayed, chaos_var_dir) | {"BCS_LOG_LEVEL": "INFO"}
    worker = BcsProcess("worker", ["worker", "--concurrency", "2"], env, log_dir)
    processes.append(worker)
    before = await newest_worker_id(db)
    worker.start()

    async def tried_twice() -> bool:
        assert worker.alive, worker.log.read_text()
        return worker.log.read_text().count("PostgreSQL is not answering") >= 2

    await eventually(tried_twice, seconds=30, what="two logged tries")
    assert worker.alive  # waiting, not exited

    async with tcp_relay(port, real.hostname or "127.0.0.1", real.port or 5432):

        async def registered() -> bool:
            assert worker.alive, worker.log.read_text()
            return await newest_worker_id(db) > before

        await eventually(registered, seconds=60, what="the worker to start once PostgreSQL answers")
        assert await worker.stop() == 0
