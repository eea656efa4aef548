"""`create_app(settings)`: the ASGI app of the parts that run in this process: their routers,
the shared middleware and error handlers, and a lifespan that opens the process's runtime
(`wiring.py`) and runs its job worker (`jobs/worker.py`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from bettercallsold import __version__
from bettercallsold.automation.routes import router as automation_router
from bettercallsold.bus.routes import router as bus_router
from bettercallsold.http.api_docs import router as api_docs_router
from bettercallsold.http.handlers import install_error_handlers
from bettercallsold.http.request_limits import RequestLimits
from bettercallsold.jobs.worker import run_worker
from bettercallsold.ops.routes import router as ops_router
from bettercallsold.platform.router import router as platform_router
from bettercallsold.receiver.routes import router as receiver_router
from bettercallsold.settings import Settings
from bettercallsold.web.framing import NoFraming
from bettercallsold.web.routes import router as web_router
from bettercallsold.wiring import on_process_start, open_runtime


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
    install_error_handlers(app)
    return app


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
