"""Which parts run in this process, and the ports that connect them (`ports.py`).

A part is in process unless its URL is set: `BCS_PLATFORM_URL` puts the platform (and so the
event receiver's calls, and where the plugin sends its batches) elsewhere; `BCS_PLUGIN_URL`
(or a platform elsewhere, which is where the plugin's webhook then lives) puts the plugin's
intake elsewhere. Parts in process call each other through these adapters, inside the caller's
transaction; the others are reached by the contract's HTTP, as before.

`open_runtime` opens what one process holds (engine, job app, HTTP client, these ports);
`on_process_start` is what every process does once it is open.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI

from bettercallsold.automation.directory import PluginExecutions
from bettercallsold.automation.intake import InProcessIntake
from bettercallsold.automation.interests import declare_all as declare_interests
from bettercallsold.bus.history import InProcessEventHistory
from bettercallsold.bus.startup import PLUGIN_SUBSCRIPTION_KEY
from bettercallsold.bus.startup import on_startup as bus_startup
from bettercallsold.db.engine import make_engine, make_sessionmaker
from bettercallsold.db.url import resolve_database_url
from bettercallsold.jobs.app import make_job_app
from bettercallsold.jobs.recovery import recover_stalled_jobs
from bettercallsold.platform.operations import InProcessPlatform
from bettercallsold.ports import INTAKE_INFO_KEY, Ports
from bettercallsold.receiver.action_log import ReceiverActionLog
from bettercallsold.receiver.inprocess import InProcessReceiver
from bettercallsold.runtime import Runtime
from bettercallsold.settings import INPROCESS_BASE_URL, Settings


def in_process_ports(settings: Settings) -> Ports:
    # Reads over the one shared database: wired in every mode (`ports.py`).
    executions, action_log = PluginExecutions(), ReceiverActionLog()
    if settings.platform_url is not None:
        return Ports(executions=executions, action_log=action_log)
    platform = InProcessPlatform()
    intake = None
    if settings.plugin_url is None:
        intake = InProcessIntake(PLUGIN_SUBSCRIPTION_KEY, settings.max_causation_depth)
    return Ports(
        intake=intake,
        receiver=InProcessReceiver(platform, settings.max_actions_per_event),
        platform=platform,
        executions=executions,
        action_log=action_log,
        history=InProcessEventHistory(),
    )


@contextlib.asynccontextmanager
async def open_runtime(app: FastAPI, settings: Settings) -> AsyncIterator[Runtime]:
    """Engine, job app and HTTP client for one process; `http://bcs.internal` is this app."""
    database_url = resolve_database_url(settings)
    pool = settings.database_pool_size
    # Opened on demand and then kept: under a burst, connections opened and closed again for
    # every request beyond the first few cost more than the requests (a backend's start in
    # PostgreSQL, a TLS-less handshake here), measured as 7% of `bcs serve`'s CPU at 150
    # requests/s with 10 kept. An idle backend costs PostgreSQL a few MB.
    engine = make_engine(database_url, pool_size=pool, max_overflow=0)
    job_app = make_job_app(database_url)
    # An in-process crash answers 500, as it would over the network, so callers retry it.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    http = httpx.AsyncClient(
        mounts={INPROCESS_BASE_URL: transport},
        timeout=httpx.Timeout(settings.receiver_timeout_seconds, connect=5.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )
    try:
        ports = in_process_ports(settings)
        info = {} if ports.intake is None else {INTAKE_INFO_KEY: ports.intake}
        async with job_app.open_async():
            yield Runtime(
                settings=settings,
                database_url=database_url,
                engine=engine,
                sessionmaker=make_sessionmaker(engine, info),
                http=http,
                job_app=job_app,
                ports=ports,
            )
    finally:
        await http.aclose()
        await engine.dispose()


async def on_process_start(runtime: Runtime) -> None:
    """What every `bcs` process does once its runtime is open (`bcs serve` and `bcs worker`):
    the plugin declares what it wants of the bus, the bus's start-up, then bring back the jobs
    of workers that died while it was down."""
    async with runtime.sessionmaker() as session, session.begin():
        await declare_interests(session)
    await bus_startup(runtime)
    await recover_stalled_jobs(
        runtime.engine,
        runtime.job_app.job_manager,
        stalled_after=runtime.settings.worker_stalled_seconds,
    )
