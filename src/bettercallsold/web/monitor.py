"""Executions: the list (filtered, newest first, polled by htmx) and one execution's detail."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bettercallsold.web.api import Api, ApiDep, ApiError, ResourceId, page_items
from bettercallsold.web.auth import SessionDep, is_htmx
from bettercallsold.web.loaders import EXECUTION_STATUSES, EXECUTIONS, FLOWS, newest_first
from bettercallsold.web.rendering import not_found, render

router = APIRouter()
POLL_SECONDS = 3


async def _flow_names(api: Api) -> dict[str, str]:
    flows, _ = await api.list_items(FLOWS, max_pages=20)
    return {str(flow.get("id")): str(flow.get("name", "")) for flow in flows}


@router.get("/executions", response_class=HTMLResponse)
async def executions(
    request: Request,
    session: SessionDep,
    api: ApiDep,
    flow_id: str = "",
    status: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Executions newest first; the table refreshes itself every few seconds."""
    try:
        page = await api.get(
            EXECUTIONS, {"flow_id": flow_id, "status": status, "cursor": cursor, "limit": 50}
        )
    except ApiError as exc:
        if exc.status_code != 422:
            raise
        # A hand-edited URL with a filter the API refuses: show everything instead of failing.
        flow_id = status = cursor = ""
        page = await api.get(EXECUTIONS, {"limit": 50})
    items, next_cursor = page_items(page)
    context: dict[str, Any] = {
        "executions": newest_first(items, "started_at"),
        "next_cursor": next_cursor,
        "flow_names": await _flow_names(api),
        "flow_id": flow_id,
        "status": status,
        "cursor": cursor,
        "statuses": EXECUTION_STATUSES,
        "poll_seconds": POLL_SECONDS,
    }
    # The polling request asks for the rows only (htmx targets the table body).
    template = "execution_rows.html" if is_htmx(request) else "executions.html"
    return render(request, template, session, section="executions", **context)


@router.get("/executions/{execution_id}", response_class=HTMLResponse)
async def execution_detail(
    request: Request, execution_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    """Trigger data, each condition's verdict, each action's payload and result, timings."""
    try:
        execution: dict[str, Any] = await api.get(f"{EXECUTIONS}/{execution_id}")
    except ApiError as exc:
        if exc.status_code not in (404, 422):
            raise
        return not_found(request, session, "This execution does not exist.", "/executions")
    flow_names = await _flow_names(api)
    template = "execution_body.html" if is_htmx(request) else "execution.html"
    return render(
        request,
        template,
        session,
        section="executions",
        execution=execution,
        flow_name=flow_names.get(str(execution.get("flow_id")), ""),
        actions=action_rows(execution),
        poll_seconds=POLL_SECONDS,
    )


def action_rows(execution: dict[str, Any]) -> list[dict[str, Any]]:
    """Each action step beside its result (`execution_results` in action order) and log row."""
    results = [r for r in execution.get("execution_results") or [] if isinstance(r, dict)]
    events = [e for e in execution.get("events") or [] if isinstance(e, dict)]
    rows: list[dict[str, Any]] = []
    steps = [s for s in execution.get("steps") or [] if isinstance(s, dict)]
    actions = [s for s in steps if s.get("type") == "action"]
    for index, step in enumerate(actions):
        step_id = step.get("id")
        result = next((r for r in results if step_id and r.get("step_id") == step_id), None)
        if result is None and index < len(results):
            result = results[index]
        event = next((e for e in events if step_id and e.get("step_id") == step_id), None)
        if event is None and index < len(events):
            event = events[index]
        rows.append({"step": step, "result": result, "event": event})
    return rows
