"""Operator endpoints: health and Prometheus metrics (unauthenticated: operator network)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bettercallsold.db.session import RuntimeDep
from bettercallsold.ops.metrics import collect_snapshot, render

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "the database does not answer"}})
async def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the database answers (503 otherwise), and the state of this process's job
    worker: `{"status": "ok", "worker": {"running": true, "state": "running", "id": 7, ...}}`,
    `"state": "disabled"` for `bcs serve --no-worker`.

    A worker that is not running does not turn the answer into a 503: the process still serves
    its API, and the other processes' workers take the work. A load balancer checks
    `status`; a supervisor that wants to restart a process whose worker is stuck checks
    `worker.running`.
    """
    worker = (
        runtime.worker.describe() if runtime.worker else {"running": False, "state": "disabled"}
    )
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return JSONResponse(
            {"status": "unavailable", "error": type(exc).__name__, "worker": worker},
            status_code=503,
        )
    return JSONResponse({"status": "ok", "worker": worker})


@router.get("/metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus text: queue depth, running jobs, workers alive, deliveries, executions,
    actions, execution durations."""
    async with runtime.engine.connect() as connection:
        snapshot = await collect_snapshot(
            connection, stalled_after_seconds=runtime.settings.worker_stalled_seconds
        )
    return Response(render(snapshot), media_type=CONTENT_TYPE_LATEST)
