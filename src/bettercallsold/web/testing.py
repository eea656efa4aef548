"""The builder's test panel: a dry run of the saved flow on a sample or pasted payload."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse

from bettercallsold.web.api import ApiDep, ApiError, ResourceId
from bettercallsold.web.auth import SessionDep
from bettercallsold.web.loaders import FLOWS
from bettercallsold.web.rendering import render

router = APIRouter()


@router.post("/flows/{flow_id}/test", response_class=HTMLResponse)
async def run_test(
    request: Request,
    flow_id: ResourceId,
    session: SessionDep,
    api: ApiDep,
    payload: Annotated[str, Form()] = "",
) -> HTMLResponse:
    """`POST /plugins/automation/flows/{id}/test`: which conditions held, what would be sent."""
    try:
        trigger = json.loads(payload or "{}")
    except ValueError as exc:
        return _result(request, session, error=f"The payload is not valid JSON: {exc}")
    if not isinstance(trigger, dict):
        return _result(request, session, error="The payload must be a JSON object.")
    try:
        result: dict[str, Any] = await api.post(f"{FLOWS}/{flow_id}/test", {"payload": trigger})
    except ApiError as exc:
        if exc.status_code == 404:
            raise HTTPException(404, "no such flow") from exc
        if exc.status_code >= 500:
            raise
        return _result(request, session, error=exc.message())
    return _result(request, session, result=result)


def _result(
    request: Request,
    session: Any,
    *,
    result: dict[str, Any] | None = None,
    error: str = "",
) -> HTMLResponse:
    return render(request, "test_result.html", session, result=result, error=error)
