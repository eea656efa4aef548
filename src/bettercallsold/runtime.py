"""What a running process holds: settings, the database engine, the HTTP client, the job app.

Built once per process by `wiring.open_runtime` (`bcs serve` and `bcs worker`), handed to
routes through `request.app.state.runtime` and to tasks through `jobs/context.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bettercallsold.ports import Ports
from bettercallsold.settings import Settings

if TYPE_CHECKING:
    import procrastinate


@dataclass
class Runtime:
    settings: Settings
    database_url: str
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    """Outbound calls; `http://bcs.internal` is routed to this process's own app."""
    job_app: procrastinate.App
    ports: Ports = field(default_factory=Ports)
    """The parts in this process, called as functions (`wiring.py`); empty: over HTTP."""
    extras: dict[str, Any] = field(default_factory=dict)
    worker: WorkerStatus | None = None
    """This process's job worker, when it runs one (`jobs/worker.py`); None for an API only."""


def _unregistered() -> int | None:
    return None


@dataclass
class WorkerStatus:
    """What `/healthz` says of this process's job worker (kept up to date by `jobs/worker.py`)."""

    concurrency: int
    phase: str = "starting"
    """`starting`, `started`, `restarting` (it stopped by itself and is started again after a
    pause), `stopping` (SIGTERM: letting its jobs finish) or `stopped`."""
    restarts: int = 0
    last_error: str | None = None
    registered_id: Callable[[], int | None] = _unregistered
    """The current worker's row in `procrastinate_workers`, None until it has registered."""

    @property
    def state(self) -> str:
        if self.phase == "started":
            return "running" if self.registered_id() is not None else "starting"
        return self.phase

    def describe(self) -> dict[str, Any]:
        state = self.state
        return {
            "running": state == "running",
            "state": state,
            "id": self.registered_id(),
            "concurrency": self.concurrency,
            "restarts": self.restarts,
            "last_error": self.last_error,
        }
