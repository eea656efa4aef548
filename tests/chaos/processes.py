"""Real `bcs` OS processes for the chaos tests, configured as an operator would: by environment.

Each process writes its log to a file under the test's temporary directory (named in every
failure message); `kill()` is SIGKILL (nothing is flushed, nothing is released), `stop()` is
SIGTERM (the graceful path).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import httpx

BCS = str(Path(sys.executable).with_name("bcs"))


def _die_with_the_tests() -> None:
    """In the child before `exec`: SIGKILL it when the test process dies, so an interrupted
    run (Ctrl-C twice, a CI timeout) leaves no `bcs` process behind (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def eventually(
    check: Callable[[], Awaitable[bool]], *, seconds: float, what: str, interval: float = 0.2
) -> float:
    """Poll `check` until it holds; the seconds it took. Fails after `seconds`."""
    started = time.monotonic()
    while not await check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        await asyncio.sleep(interval)
    return time.monotonic() - started


def base_env(database_url: str, var_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of every process of one system: one database, one set of secrets."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BCS_")}
    env |= {
        "BCS_DATABASE_URL": database_url,
        "BCS_VAR_DIR": str(var_dir),
        "BCS_LOG_LEVEL": "WARNING",
    }
    return env | {f"BCS_{key.upper()}": value for key, value in settings.items()}


class BcsProcess:
    """One `bcs ...` process that can be killed and started again with the same command."""

    def __init__(self, name: str, args: list[str], env: Mapping[str, str], log_dir: Path) -> None:
        self.name = name
        self.args = args
        self.env = dict(env)
        self.log = log_dir / f"{name}.log"
        self.starts = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BcsProcess:
        assert not self.alive, f"{self.name} is already running"
        with self.log.open("ab") as output:
            output.write(f"--- start {self.starts + 1}: bcs {' '.join(self.args)}\n".encode())
            output.flush()
            self.process = subprocess.Popen(
                [BCS, *self.args],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_the_tests,
            )
        self.starts += 1
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def send(self, signum: int) -> None:
        if self.alive:
            assert self.process is not None
            self.process.send_signal(signum)

    async def wait_exit(self, seconds: float = 60.0) -> int:
        async def exited() -> bool:
            return self.process is None or self.process.poll() is not None

        await eventually(exited, seconds=seconds, what=f"{self.name} to exit (log: {self.log})")
        assert self.process is not None
        return self.process.returncode

    async def kill(self) -> None:
        """SIGKILL, and wait until it is gone."""
        self.send(signal.SIGKILL)
        await self.wait_exit(10)

    async def stop(self, seconds: float = 60.0) -> int:
        """SIGTERM (graceful), and wait for the exit; its exit code."""
        self.send(signal.SIGTERM)
        return await self.wait_exit(seconds)

    def force_stop(self) -> None:
        """For teardown: SIGTERM, then SIGKILL after a grace period."""
        if not self.alive:
            return
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(45)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class ApiProcess(BcsProcess):
    """`bcs serve --no-worker` (or, `with_worker`, plain `bcs serve`) on a fixed port (a
    restart comes back on the same address)."""

    def __init__(
        self,
        env: Mapping[str, str],
        log_dir: Path,
        port: int | None = None,
        *,
        with_worker: bool = False,
    ) -> None:
        self.port = port or free_port()
        args = ["serve", "--port", str(self.port)] + ([] if with_worker else ["--no-worker"])
        super().__init__("api", args, env, log_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def wait_healthy(self, seconds: float = 60.0) -> None:
        async with httpx.AsyncClient(timeout=2) as client:

            async def healthy() -> bool:
                if not self.alive:
                    raise AssertionError(f"{self.name} exited (log: {self.log})")
                with contextlib.suppress(httpx.HTTPError):
                    return (await client.get(f"{self.url}/healthz")).status_code == 200
                return False

            await eventually(healthy, seconds=seconds, what=f"{self.name} to answer /healthz")


def worker_process(
    index: int, env: Mapping[str, str], log_dir: Path, concurrency: int
) -> BcsProcess:
    return BcsProcess(
        f"worker-{index}", ["worker", "--concurrency", str(concurrency)], env, log_dir
    )


__all__ = ["signal"]
