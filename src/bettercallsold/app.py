"""`create_app(settings)`: the routers, the lifespan (engine, HTTP client, jobs), error handlers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import httpx
from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from bettercallsold import __version__
from bettercallsold.automation.routes import router as automation_router
from bettercallsold.bus.routes import router as bus_router
from bettercallsold.bus.startup import on_startup as bus_startup
from bettercallsold.db.engine import make_engine, make_sessionmaker
from bettercallsold.db.url import resolve_database_url
from bettercallsold.errors import BCSError, Unprocessable
from bettercallsold.jobs import make_job_app
from bettercallsold.ops import router as ops_router
from bettercallsold.platform.router import router as platform_router
from bettercallsold.receiver.routes import router as receiver_router
from bettercallsold.runtime import Runtime
from bettercallsold.settings import INPROCESS_BASE_URL, Settings
from bettercallsold.web.routes import router as web_router

logger = logging.getLogger(__name__)


def create_app(settings: Settings, *, run_worker: bool = True) -> FastAPI:
    """The whole system as one ASGI app; `run_worker` also runs the job workers in-process."""
    settings = settings.with_generated_secrets()
    app = FastAPI(
        title="BetterCallSold",
        version=__version__,
        description="Commerce platform APIs, event bus, event receiver and automation plugin.",
        lifespan=_lifespan,
    )
    app.state.settings = settings
    app.state.run_worker = run_worker
    routers = (
        ops_router,
        platform_router,
        bus_router,
        receiver_router,
        automation_router,
        web_router,
    )
    for router in routers:
        app.include_router(router)
    app.add_exception_handler(BCSError, _bcs_error_handler)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error_handler)  # type: ignore[arg-type]
    return app


async def _validation_error_handler(request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's 422 shape, rendered ASCII-safe: a rejected value holding a lone surrogate
    (`"\\ud800"`) would otherwise crash the default UTF-8 renderer into a 500."""
    del request
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True, default=str)
    return Response(body, status_code=422, media_type="application/json")


async def _bcs_error_handler(request: Request, exc: BCSError) -> JSONResponse:
    del request
    if isinstance(exc, Unprocessable):
        return JSONResponse({"detail": exc.detail()}, status_code=exc.status_code)
    return JSONResponse({"detail": exc.message}, status_code=exc.status_code)


@contextlib.asynccontextmanager
async def open_runtime(app: FastAPI, settings: Settings) -> AsyncIterator[Runtime]:
    """Engine, job app and HTTP client for one process; `http://bcs.internal` is this app."""
    database_url = resolve_database_url(settings)
    engine = make_engine(database_url)
    job_app = make_job_app(database_url)
    # An in-process crash answers 500, as it would over the network, so callers retry it.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    http = httpx.AsyncClient(
        mounts={INPROCESS_BASE_URL: transport},
        timeout=httpx.Timeout(settings.receiver_timeout_seconds, connect=5.0),
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
    )
    try:
        async with job_app.open_async():
            yield Runtime(
                settings=settings,
                database_url=database_url,
                engine=engine,
                sessionmaker=make_sessionmaker(engine),
                http=http,
                job_app=job_app,
            )
    finally:
        await http.aclose()
        await engine.dispose()


@contextlib.asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with open_runtime(app, settings) as runtime:
        app.state.runtime = runtime
        await bus_startup(runtime)
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


async def run_worker(runtime: Runtime, concurrency: int) -> None:
    """Run procrastinate's worker until cancelled; cancellation lets running jobs finish."""
    await runtime.job_app.run_worker_async(
        concurrency=concurrency,
        install_signal_handlers=False,
        additional_context={"runtime": runtime},
        shutdown_graceful_timeout=30,
        # Finished jobs carry nothing we read: our own tables keep every attempt and result.
        delete_jobs="never" if runtime.settings.keep_finished_jobs else "successful",
    )
