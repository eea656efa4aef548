"""Operator endpoints: health and Prometheus metrics (unauthenticated: operator network)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bettercallsold.db.session import RuntimeDep
from bettercallsold.metrics import collect_snapshot, render

router = APIRouter(tags=["operations"])


@router.get("/healthz", responses={503: {"description": "the database does not answer"}})
async def healthz(runtime: RuntimeDep) -> JSONResponse:
    """200 when the database answers."""
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as exc:
        return JSONResponse({"status": "unavailable", "error": type(exc).__name__}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/metrics", response_class=Response)
async def metrics(runtime: RuntimeDep) -> Response:
    """Prometheus text: queue depth, deliveries, executions, actions, execution durations."""
    async with runtime.engine.connect() as connection:
        snapshot = await collect_snapshot(connection)
    return Response(render(snapshot), media_type=CONTENT_TYPE_LATEST)
