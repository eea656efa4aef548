"""Executions: the list (filtered, newest first, polled by htmx) and one execution's detail."""

from __future__ import annotations

from datetime import datetime
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
    since: str = "",
    until: str = "",
    q: str = "",
) -> HTMLResponse:
    """Executions newest first, filtered by flow, status, a time range (UTC) and a value of
    the trigger data; the table refreshes itself every few seconds."""
    since, until, q = _instant(since), _instant(until), q.strip()[:200]
    filter_note = ""
    try:
        page = await api.get(
            EXECUTIONS,
            {
                "flow_id": flow_id,
                "status": status,
                "since": since,
                "until": until,
                "q": q,
                "cursor": cursor,
                "limit": 50,
            },
        )
    except ApiError as exc:
        if exc.status_code != 422:
            raise
        # A hand-edited URL with a filter the API refuses: show everything instead of failing.
        flow_id = status = cursor = since = until = q = ""
        filter_note = "These filters could not be used: showing every execution."
        page = await api.get(EXECUTIONS, {"limit": 50})
    items, next_cursor = page_items(page)
    context: dict[str, Any] = {
        "executions": newest_first(items, "started_at"),
        "next_cursor": next_cursor,
        "flow_names": await _flow_names(api),
        "flow_id": flow_id,
        "status": status,
        "since": since,
        "until": until,
        "q": q,
        "filter_note": filter_note,
        "cursor": cursor,
        "statuses": EXECUTION_STATUSES,
        "poll_seconds": POLL_SECONDS,
    }
    # The polling request asks for the rows only (htmx targets the table body).
    template = "execution_rows.html" if is_htmx(request) else "executions.html"
    return render(request, template, session, section="executions", **context)


def _instant(text: str) -> str:
    """A `datetime-local` value (`2026-12-02T10:30`, taken as UTC), or "" when it is not one."""
    text = text.strip()
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return ""
    return text[:19]


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
        actions=(rows := action_rows(execution)),
        status_words=status_words(execution, rows),
        resume_at=resume_at(execution),
        poll_seconds=POLL_SECONDS,
    )


def status_words(execution: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The status as a merchant reads it: "completed with errors" when every action failed
    would say the opposite of what happened."""
    status = str(execution.get("status") or "")
    failed = [
        row for row in rows if row["error"] or (row["result"] and not row["result"].get("success"))
    ]
    if status == "completed_with_errors" and rows and len(failed) == len(rows):
        return "every action failed"
    if status == "completed_with_errors":
        return f"{len(failed)} of {len(rows)} actions failed"
    return status.replace("_", " ")


def resume_at(execution: dict[str, Any]) -> str:
    if execution.get("resume_at"):
        return str(execution["resume_at"])
    waits = [
        s for s in execution.get("steps") or [] if isinstance(s, dict) and s.get("type") == "wait"
    ]
    pending = [s for s in waits if not s.get("waited")]
    return str(pending[-1].get("resume_at") or "") if pending else ""


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
        payload = step.get("payload")
        if payload in (None, "") and event is not None:
            payload = event.get("payload")
        # One message per failure: the step's (a template error) or the result's, not both.
        error = (
            (step.get("error") or (result or {}).get("error") or "")
            if not (result and result.get("success"))
            else ""
        )
        rows.append(
            {
                "step": step,
                "result": result,
                "event": event,
                "payload": payload if payload not in (None, "") else None,
                "error": error,
            }
        )
    return rows
