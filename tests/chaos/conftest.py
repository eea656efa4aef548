"""Chaos fixtures: a fresh database per test (real commits, real processes, figures that count
only this test's work), the system's processes, and a client for the platform API.

The database lives on the same server as the rest of the suite (`BCS_DATABASE_URL`, or the
embedded PostgreSQL under `var/pg`) and is dropped at the end of the test (kept, for a look
after a failure, with `BCS_CHAOS_KEEP_DATABASE=1`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bettercallsold.db.migrate import migrate
from bettercallsold.db.url import libpq_url, with_database
from tests.chaos.processes import BCS, BcsProcess
from tests.conftest import ROOT, _server_url

WELCOME_FLOW: dict[str, Any] = json.loads(
    (ROOT / "src/bettercallsold/automation/examples/01-welcome-new-customer.json").read_text()
)
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def chaos_database_url() -> Iterator[str]:
    server = _server_url()
    name = f"bcs_chaos_{uuid.uuid4().hex[:10]}"
    url = with_database(server, name)
    migrate(url)
    yield url
    if os.environ.get("BCS_CHAOS_KEEP_DATABASE"):
        print(f"\nkept the chaos database: {url}")
        return
    with psycopg.connect(libpq_url(with_database(server, "postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@pytest.fixture
def chaos_var_dir(tmp_path: Path) -> Path:
    """The generated secrets every process of the system shares."""
    directory = tmp_path / "var"
    directory.mkdir()
    return directory


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "logs"
    directory.mkdir()
    return directory


@pytest.fixture
async def processes() -> AsyncIterator[list[BcsProcess]]:
    """Every process a test starts goes here and is stopped at the end, whatever happened."""
    started: list[BcsProcess] = []
    yield started
    for process in started:
        process.force_stop()


@pytest.fixture
async def db(chaos_database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """An autocommit connection to the test's database, for reading figures."""
    connection = await psycopg.AsyncConnection.connect(
        libpq_url(chaos_database_url), autocommit=True
    )
    yield connection
    await connection.close()


_SESSION_STARTED = time.time()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The chaos run's figures at the end of the output, when this run wrote them."""
    figures = ARTIFACTS / "chaos.json"
    if not figures.exists() or figures.stat().st_mtime < _SESSION_STARTED:
        return
    found = json.loads(figures.read_text())
    terminalreporter.section("chaos figures (test-artifacts/chaos.json)")
    for key in SUMMARY_KEYS:
        if key in found:
            terminalreporter.write_line(f"{key:32} {json.dumps(found[key])}")


SUMMARY_KEYS = (
    "customers",
    "events",
    "executions",
    "plugin_deliveries",
    "kills",
    "injected_faults",
    "faults_by_kind",
    "recovery_seconds_max",
    "duplicates",
    "lost",
    "drive_seconds",
    "seconds_to_settle",
    "test_seconds",
)

__all__ = ["ARTIFACTS", "BCS", "WELCOME_FLOW"]
