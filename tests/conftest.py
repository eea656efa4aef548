"""The test database: one fresh PostgreSQL database per test run, migrated from empty.

`BCS_DATABASE_URL` names the server to use (its database part is ignored); unset, the
embedded server under `var/pg` is used, as on a user's fresh machine. The database is
dropped at the end of the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest

from bettercallsold.db.embedded import embedded_server_url
from bettercallsold.db.migrate import migrate
from bettercallsold.db.url import libpq_url, with_database

ROOT = Path(__file__).resolve().parent.parent


def _server_url() -> str:
    configured = os.environ.get("BCS_DATABASE_URL")
    if configured:
        return configured
    return embedded_server_url(ROOT / "var", "postgres")


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    server = _server_url()
    name = f"bcs_test_{uuid.uuid4().hex[:12]}"
    url = with_database(server, name)
    migrate(url)
    yield url
    with psycopg.connect(libpq_url(with_database(server, "postgres")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


__all__ = ["AsyncIterator"]
