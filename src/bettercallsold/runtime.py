"""What a running process holds: settings, the database engine, the HTTP client, the job app.

Built once by `app.py` (for `bcs serve`) or `jobs.py` (for `bcs worker`), handed to routes
through `request.app.state.runtime` and to tasks through the worker's additional context.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

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
    extras: dict[str, Any] = field(default_factory=dict)
