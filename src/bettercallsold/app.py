"""`create_app(settings)`: the routers, the lifespan (engine, HTTP client, jobs), error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from collections.abc import AsyncIterator, Callable

import httpx
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from procrastinate.worker import Worker
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bettercallsold import __version__
from bettercallsold.api_docs import router as api_docs_router
from bettercallsold.automation.interests import declare_all as declare_interests
from bettercallsold.automation.routes import router as automation_router
from bettercallsold.bus.errors import ActionAlreadyPerformed
from bettercallsold.bus.routes import router as bus_router
from bettercallsold.bus.startup import on_startup as bus_startup
from bettercallsold.db.engine import make_engine, make_sessionmaker
from bettercallsold.db.url import resolve_database_url
from bettercallsold.errors import BCSError, Unprocessable
from bettercallsold.jobs import make_job_app
from bettercallsold.ops import router as ops_router
from bettercallsold.platform.router import router as platform_router
from bettercallsold.ports import INTAKE_INFO_KEY
from bettercallsold.receiver.routes import router as receiver_router
from bettercallsold.recovery import recover_stalled_jobs
from bettercallsold.request_limits import RequestLimits
from bettercallsold.runtime import Runtime, WorkerStatus
from bettercallsold.settings import INPROCESS_BASE_URL, Settings
from bettercallsold.web.framing import NoFraming
from bettercallsold.web.routes import router as web_router
from bettercallsold.wiring import in_process_ports

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, run_worker: bool = True) -> FastAPI:
    """The whole system as one ASGI app; `run_worker` also runs the job workers in-process."""
    settings = settings.with_generated_secrets()
    app = FastAPI(
        title="BetterCallSold",
        version=__version__,
        description="Commerce platform APIs, event bus, event receiver and automation plugin.",
        lifespan=_lifespan,
        # FastAPI's own pages load Swagger UI and ReDoc from CDNs; `api_docs` serves /docs
        # from our vendored copy instead.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.run_worker = run_worker
    app.add_middleware(RequestLimits)
    app.add_middleware(NoFraming)
    if settings.trusted_proxies:
        # Outermost, so every layer sees the browser's scheme and address. Only the listed
        # proxies' X-Forwarded-* headers are believed (`bcs serve` turns uvicorn's own off).
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    routers = (
        ops_router,
        platform_router,
        bus_router,
        receiver_router,
        automation_router,
        web_router,
        api_docs_router,
    )
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(BCSError, _bcs_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(ActionAlreadyPerformed, _replay_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error_handler)  # type: ignore[arg-type]
    for unavailable in DATABASE_UNAVAILABLE:
        app.add_exception_handler(unavailable, _database_unavailable_handler)
    return app


DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OperationalError,  # cannot connect, connection lost, deadlock, serialization failure
    InterfaceError,  # the connection was closed under us
    PoolTimeout,  # every pooled connection busy for `pool_timeout`
)


async def _database_unavailable_handler(request: Request, exc: Exception) -> JSONResponse:
    """A JSON 503 with `Retry-After`, not Starlette's plain-text 500: the request was fine, the
    database was not (down, restarting, saturated), and trying again shortly is the answer.
    Nothing was committed (the transaction dies with its connection). Only the error's type and
    first line are logged: enough to tell "down" from "saturated", no query or parameters."""
    first_line = str(getattr(exc, "orig", None) or exc).strip().splitlines()[:1]
    logger.warning(
        "database unavailable for %s %s: %s %s",
        request.method,
        request.url.path,
        type(exc).__name__,
        first_line[0] if first_line else "",
    )
    return JSONResponse(
        {"detail": "The database is unavailable; try again shortly."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's 422 shape, rendered ASCII-safe: a rejected value holding a lone surrogate
    (`"\\ud800"`) would otherwise crash the default UTF-8 renderer into a 500, and a rejected
    NaN/Infinity is echoed as a string (strict JSON has no such numbers)."""
    del request
    detail = _finite(jsonable_encoder(exc.errors()))
    body = json.dumps({"detail": detail}, ensure_ascii=True, allow_nan=False, default=str)
    return Response(body, status_code=422, media_type="application/json")


def _finite(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


async def _replay_handler(request: Request, exc: ActionAlreadyPerformed) -> JSONResponse:
    """A repeated flow action: the first write's resource, as Stripe replays an idempotent
    request (the receiver only reads a 2xx and its body)."""
    del request
    return JSONResponse(exc.resource, status_code=200, headers={"Idempotent-Replayed": "true"})


async def _bcs_error_handler(request: Request, exc: BCSError) -> JSONResponse:
    del request
    if isinstance(exc, Unprocessable):
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)


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


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with open_runtime(app, settings) as runtime:
        app.state.runtime = runtime
        await on_process_start(runtime)
        worker: asyncio.Task[None] | None = None
        if app.state.run_worker:
            worker = asyncio.create_task(run_worker(runtime, settings.worker_concurrency))
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker


_RESTART_FIRST_PAUSE = 1.0
_RESTART_MAX_PAUSE = 30.0


async def run_worker(runtime: Runtime, concurrency: int) -> None:
    """Run procrastinate's worker until cancelled, on every queue; `runtime.worker` tells how
    it goes (`/healthz`).

    Cancelling it is the graceful stop (SIGTERM): the worker takes no new job and lets the
    running ones finish for `BCS_WORKER_SHUTDOWN_SECONDS`; those still running then are
    cancelled and go back to the queue (`recovery.RetryAfterShutdown`). A worker that stops by
    itself (its LISTEN connection lost when PostgreSQL restarts, the database unreachable at
    start) is started again after a pause, rather than leaving a process that takes no work.
    """
    settings = runtime.settings
    status = WorkerStatus(concurrency=concurrency)
    runtime.worker = status
    pause = _RESTART_FIRST_PAUSE
    try:
        while True:
            worker = Worker(
                app=runtime.job_app,
                concurrency=concurrency,
                install_signal_handlers=False,
                additional_context={"runtime": runtime},
                shutdown_graceful_timeout=settings.worker_shutdown_seconds,
                update_heartbeat_interval=settings.worker_heartbeat_seconds,
                stalled_worker_timeout=settings.worker_stalled_seconds,
                # Finished jobs carry nothing we read: our own tables keep every attempt and
                # result.
                delete_jobs="never" if settings.keep_finished_jobs else "successful",
            )
            status.registered_id = _registered_id(worker)
            status.phase = "started"
            started = asyncio.get_running_loop().time()
            try:
                await worker.run()  # type: ignore[no-untyped-call]
            except asyncio.CancelledError:
                status.phase = "stopping"
                raise
            except Exception as exc:
                if _stopping():
                    # procrastinate swallowed our cancel and then failed on its way out (its
                    # unregistration needs the database, which may be what is gone): stop.
                    status.phase = "stopping"
                    raise asyncio.CancelledError from exc
                # Broad on purpose: whatever stopped it, the process must go on taking work.
                logger.exception("the job worker failed; starting it again in %g s", pause)
                status.last_error = f"{type(exc).__name__}: {exc}"
            else:
                if _stopping():
                    status.phase = "stopping"
                    raise asyncio.CancelledError
                logger.error("the job worker stopped by itself; starting it again in %g s", pause)
                status.last_error = "stopped by itself"
            status.phase = "restarting"
            status.restarts += 1
            if asyncio.get_running_loop().time() - started > _RESTART_MAX_PAUSE:
                pause = _RESTART_FIRST_PAUSE  # it had been running well: not a crash loop
            await asyncio.sleep(pause)
            pause = min(pause * 2, _RESTART_MAX_PAUSE)
    finally:
        status.phase = "stopped"


def _stopping() -> bool:
    """Whether this task was asked to stop, even if the cancellation was swallowed below it."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _registered_id(worker: Worker) -> Callable[[], int | None]:
    def current() -> int | None:
        found: int | None = worker.worker_id
        return found

    return current
