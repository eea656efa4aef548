"""Trying and running a flow: the builder's test panel (a dry run of the flow as it stands on
screen, unsaved edits included), "Run now", and resuming a waiting execution."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from bettercallsold.db.session import RuntimeDep
from bettercallsold.web.api import ApiDep, ApiError, ResourceId
from bettercallsold.web.auth import SessionDep
from bettercallsold.web.builder import definition_from_form
from bettercallsold.web.loaders import EXECUTIONS, FLOWS, load_palette
from bettercallsold.web.rendering import render
from bettercallsold.web.wording import validation_message

router = APIRouter()


def _trigger(text: str) -> tuple[dict[str, Any] | None, str]:
    try:
        trigger = json.loads(text or "{}")
    except ValueError as exc:
        return None, f"The trigger data is not valid JSON: {exc}"
    if not isinstance(trigger, dict):
        return None, "The trigger data must be a JSON object ({ … })."
    return trigger, ""


@router.post("/flows/{flow_id}/test", response_class=HTMLResponse)
async def run_test(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep, runtime: RuntimeDep
) -> HTMLResponse:
    """`POST /plugins/automation/flows/{id}/test` with the definition on screen (the builder's
    fields come with the payload); without them, the saved flow."""
    form = await request.form()
    trigger, error = _trigger(str(form.get("payload", "")))
    if trigger is None:
        return _result(request, session, error=error)
    body: dict[str, Any] = {"payload": trigger}
    unsaved = "step" in form
    if unsaved:
        palette = await load_palette(api, runtime)
        submitted = {
            key: [value for value in form.getlist(key) if isinstance(value, str)]
            for key in form.keys()  # noqa: SIM118 (FormData is a multi-dict: keys() dedupes)
        }
        body["flow_definition"] = {"steps": definition_from_form(submitted, palette)}
    try:
        result: dict[str, Any] = await api.post(f"{FLOWS}/{flow_id}/test", body)
    except ApiError as exc:
        if exc.status_code == 404:
            raise HTTPException(404, "no such flow") from exc
        if exc.status_code >= 500:
            raise
        return _result(request, session, error=_problems(exc))
    labels = _labels(body.get("flow_definition", {}).get("steps", []))
    return _result(request, session, result=result, unsaved=unsaved, labels=labels)


def _problems(exc: ApiError) -> str:
    if isinstance(exc.detail, list):
        parts = []
        for item in exc.detail:
            entry = item if isinstance(item, dict) else {"msg": item}
            loc = [str(p) for p in entry.get("loc", []) if p not in ("body", "flow_definition")]
            step = loc[1] if len(loc) > 1 and loc[0] == "steps" else ""
            message = validation_message(str(entry.get("msg", "")))
            parts.append(f"{step}: {message}" if step else message)
        return "The flow on screen cannot run yet: " + "; ".join(parts)
    return exc.message()


def _labels(steps: Any) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for step in steps if isinstance(steps, list) else []:
        if isinstance(step, dict):
            found[str(step.get("id"))] = step
            for branch in ("then", "else", "steps"):
                found.update(_labels(step.get(branch)))
    return found


def _result(
    request: Request,
    session: Any,
    *,
    result: dict[str, Any] | None = None,
    error: str = "",
    unsaved: bool = False,
    labels: dict[str, dict[str, Any]] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "test_result.html",
        session,
        result=result,
        error=error,
        unsaved=unsaved,
        definitions=labels or {},
    )


@router.post("/flows/{flow_id}/run", response_class=HTMLResponse)
async def run_now(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    """`POST /plugins/automation/flows/{id}/run`: start a real execution now."""
    form = await request.form()
    trigger, error = _trigger(str(form.get("payload", "")))
    if trigger is None:
        return render(request, "run_result.html", session, error=error, execution_id="")
    try:
        started: dict[str, Any] = await api.post(f"{FLOWS}/{flow_id}/run", {"payload": trigger})
    except ApiError as exc:
        if exc.status_code >= 500:
            raise
        message = (
            "Running a flow by hand is not available on this server yet."
            if exc.status_code in (404, 405)
            else validation_message(exc.message())
        )
        return render(request, "run_result.html", session, error=message, execution_id="")
    execution_id = str(started.get("execution_id") or started.get("id") or "")
    return render(request, "run_result.html", session, error="", execution_id=execution_id)


@router.post("/executions/{execution_id}/resume", response_model=None)
async def resume(
    request: Request, execution_id: ResourceId, session: SessionDep, api: ApiDep
) -> Response:
    """`POST /plugins/automation/executions/{id}/resume`: end a wait now."""
    try:
        await api.post(f"{EXECUTIONS}/{execution_id}/resume")
    except ApiError as exc:
        if exc.status_code >= 500:
            raise
        message = (
            "This run is not waiting any more."
            if exc.status_code == 409
            else "This run could not be resumed."
        )
        return render(request, "run_result.html", session, error=message, execution_id="")
    return Response(status_code=200, headers={"HX-Refresh": "true"})
