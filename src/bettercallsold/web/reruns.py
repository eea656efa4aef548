"""Re-running an execution, and replaying the flow on screen against the events it saw."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bettercallsold.db.session import RuntimeDep
from bettercallsold.web.api import ApiDep, ApiError, ResourceId
from bettercallsold.web.auth import SessionDep
from bettercallsold.web.builder import definition_from_form
from bettercallsold.web.flows import REPLAY_LIMITS
from bettercallsold.web.loaders import EXECUTIONS, FLOWS, load_palette
from bettercallsold.web.rendering import render
from bettercallsold.web.wording import humanize, validation_message

router = APIRouter()


@router.post("/executions/{execution_id}/rerun", response_class=HTMLResponse)
async def rerun(
    request: Request, execution_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    """Run the flow again on the same trigger data: whole, or from its failed step (the
    actions that succeeded are reused, not done again)."""
    form = await request.form()
    from_failed = form.get("from_failed") == "true"
    try:
        started: dict[str, Any] = await api.post(
            f"{EXECUTIONS}/{execution_id}/rerun", {"from_failed": from_failed}
        )
    except ApiError as exc:
        if exc.status_code >= 500:
            raise
        message = {
            404: "The flow of this run was deleted: it cannot run again.",
            409: "Only a run that failed can go on from its failed step.",
        }.get(exc.status_code, validation_message(exc.message()))
        return render(request, "run_result.html", session, error=message, execution_id="")
    return render(
        request,
        "run_result.html",
        session,
        error="",
        execution_id=str(started.get("execution_id") or ""),
        started_words="The re-run started.",
    )


def action_words(actions: Any) -> list[str]:
    """Each action as a merchant reads it: "Send email to ann@…"."""
    words = []
    for action in actions if isinstance(actions, list) else []:
        if not isinstance(action, dict):
            continue
        raw = action.get("payload")
        payload: dict[str, Any] = raw if isinstance(raw, dict) else {}
        target = next(
            (
                str(payload[key])
                for key in ("to", "title", "message", "id", "url")
                if payload.get(key)
            ),
            "",
        )
        text = humanize(str(action.get("action_type") or "action"))
        words.append(f"{text}: {target}" if target else text)
    return words


@router.post("/flows/{flow_id}/replay", response_class=HTMLResponse)
async def replay(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep, runtime: RuntimeDep
) -> HTMLResponse:
    """The flow as it stands on screen, dry-run on the recent stored events of its trigger,
    beside what the saved flow really did; the events it would treat differently first.
    Nothing is sent or recorded."""
    form = await request.form()
    palette = await load_palette(api, runtime)
    submitted = {
        key: [value for value in form.getlist(key) if isinstance(value, str)]
        for key in form.keys()  # noqa: SIM118 (FormData is a multi-dict: keys() dedupes)
    }
    steps = definition_from_form(submitted, palette)
    try:
        limit = int(str(form.get("replay_limit", "50")))
    except ValueError:
        limit = 50
    body = {"flow_definition": {"steps": steps}, "limit": limit if limit in REPLAY_LIMITS else 50}
    try:
        answer: dict[str, Any] = await api.post(f"{FLOWS}/{flow_id}/replay", body)
    except ApiError as exc:
        if exc.status_code >= 500 and exc.status_code != 502:
            raise
        message = (
            "Fix the flow's problems first (save it to see them)."
            if exc.status_code == 422
            else "The replay could not run: " + validation_message(exc.message())
        )
        return render(request, "replay_result.html", session, error=message, items=[])
    items = [item for item in answer.get("items") or [] if isinstance(item, dict)]
    # Changed events first, newest first within each group (the API answers newest first).
    items.sort(key=lambda item: not item.get("changed"))
    for item in items:
        item["after_words"] = action_words(item.get("actions")) if item.get("matched") else []
        before = item.get("before") if isinstance(item.get("before"), dict) else None
        item["before_words"] = action_words(before.get("actions")) if before else []
    return render(
        request,
        "replay_result.html",
        session,
        error="",
        items=items,
        changed=sum(1 for item in items if item.get("changed")),
        stopped=str(answer.get("error") or ""),
    )
