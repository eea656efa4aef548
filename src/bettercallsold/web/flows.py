"""Flows: the list, the builder (new and existing flows), saving, pausing and deleting."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bettercallsold.db.session import RuntimeDep
from bettercallsold.web.api import Api, ApiDep, ApiError, ResourceId
from bettercallsold.web.auth import SessionDep, is_htmx
from bettercallsold.web.builder import (
    WAIT_UNITS,
    StepCard,
    all_cards,
    attach_errors,
    cards_from_definition,
    definition_from_form,
    new_card,
    required_problems,
)
from bettercallsold.web.loaders import FLOWS, list_flows, load_palette
from bettercallsold.web.palette import TEMPLATE_FILTERS, Palette, picker
from bettercallsold.web.rendering import not_found, render
from bettercallsold.web.scheduling import SCHEDULE, TIME_ZONES, upcoming_runs
from bettercallsold.web.sessions import ActiveSession
from bettercallsold.web.wording import OPERATOR_WORDS, validation_message

REPLAY_LIMITS = (20, 50, 100)
"""How many recent events the builder's replay panel offers to replay."""

router = APIRouter()
_FLOW_FIELDS = ("name", "trigger_event", "status", "schedule")
_STEP_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
STEP_KINDS = ("condition", "action", "if", "for_each", "wait")


def go(request: Request, location: str) -> Response:
    """Navigate: `HX-Redirect` for htmx requests, a 303 otherwise."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


@router.get("/", response_class=HTMLResponse)
@router.get("/flows", response_class=HTMLResponse)
async def flows_list(request: Request, session: SessionDep, api: ApiDep) -> HTMLResponse:
    """Every flow with its status, trigger, last run and run counts."""
    flows = await list_flows(api)
    return render(request, "flows.html", session, section="flows", flows=flows)


@router.get("/flows/new", response_class=HTMLResponse)
async def new_flow(
    request: Request, session: SessionDep, api: ApiDep, runtime: RuntimeDep
) -> HTMLResponse:
    palette = await load_palette(api, runtime)
    flow = {"name": "", "trigger_event": palette.event_types[0] if palette.event_types else ""}
    return _builder(request, session, palette, flow, [])


async def _get_flow(api: Api, flow_id: str) -> dict[str, Any] | None:
    try:
        flow: dict[str, Any] = await api.get(f"{FLOWS}/{flow_id}")
    except ApiError as exc:
        if exc.status_code in (404, 422):
            return None
        raise
    return flow


@router.get("/flows/{flow_id}", response_class=HTMLResponse)
async def edit_flow(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep, runtime: RuntimeDep
) -> HTMLResponse:
    palette = await load_palette(api, runtime)
    flow = await _get_flow(api, flow_id)
    if flow is None:
        return not_found(request, session, "This flow does not exist (any more).", "/flows")
    steps = (flow.get("flow_definition") or {}).get("steps") or []
    paths = palette.trigger_paths(str(flow.get("trigger_event") or ""))
    return _builder(
        request,
        session,
        palette,
        flow,
        cards_from_definition(steps, palette, trigger_paths=paths),
        saved=request.query_params.get("saved") == "1",
        restored=request.query_params.get("restored", "")[:9],
    )


def _builder(
    request: Request,
    session: ActiveSession,
    palette: Palette,
    flow: dict[str, Any],
    cards: list[StepCard],
    *,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
    saved: bool = False,
    restored: str = "",
) -> HTMLResponse:
    """The builder page, or only its form when an htmx save comes back with errors."""
    trigger = str(flow.get("trigger_event") or "")
    paths = palette.trigger_paths(trigger)
    field_errors: dict[str, str] = {}
    general: list[str] = []
    for where, message in errors or []:
        top = where.split(".")[0]
        if top in _FLOW_FIELDS:
            field_errors.setdefault(top, validation_message(message, paths))
        else:
            general.append(validation_message(message, paths))
    raw_schedule = flow.get("schedule")
    schedule: dict[str, Any] = raw_schedule if isinstance(raw_schedule, dict) else {}
    return render(
        request,
        "builder_form.html" if is_htmx(request) else "builder.html",
        session,
        section="flows",
        flow=flow,
        cards=cards,
        palette=palette,
        samples_json=json.dumps(palette.samples),
        has_nested_errors=any(card.has_errors for card in all_cards(cards)),
        **picker(palette, trigger),
        schedule_trigger=SCHEDULE,
        schedule=schedule,
        time_zones=TIME_ZONES,
        upcoming=upcoming_runs(schedule.get("cron", ""), schedule.get("timezone", "")),
        operator_words=OPERATOR_WORDS,
        wait_units=WAIT_UNITS,
        field_errors=field_errors,
        general_errors=general,
        saved=saved,
        restored=restored if restored.isdigit() else "",
        replay_limits=REPLAY_LIMITS,
        status_code=status_code,
    )


@router.post("/flows", response_model=None)
async def create_flow(
    request: Request, session: SessionDep, api: ApiDep, runtime: RuntimeDep
) -> Response:
    """Create the flow the builder describes; a 422 comes back as the form with its errors."""
    return await _save(request, session, api, runtime, None)


@router.post("/flows/{flow_id}", response_model=None)
async def update_flow(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep, runtime: RuntimeDep
) -> Response:
    return await _save(request, session, api, runtime, flow_id)


async def _save(
    request: Request,
    session: ActiveSession,
    api: Api,
    runtime: RuntimeDep,
    flow_id: str | None,
) -> Response:
    palette = await load_palette(api, runtime)
    form = await request.form()
    submitted = {
        key: [value for value in form.getlist(key) if isinstance(value, str)]
        for key in form.keys()  # noqa: SIM118 (FormData is a multi-dict: keys() dedupes)
    }
    steps = definition_from_form(submitted, palette)
    body = flow_body(form, steps)
    paths = palette.trigger_paths(body["trigger_event"])

    def again(detail: Any) -> Response:
        cards = cards_from_definition(steps, palette, trigger_paths=paths)
        # Cards keep the uids the page gave them, so the form re-renders in place.
        uids = {_first(submitted, f"{uid}.id"): uid for uid in submitted.get("step", [])}
        for card in all_cards(cards):
            card.uid = uids.get(card.step_id, card.uid)
        errors = attach_errors(cards, detail, steps, paths)
        if not body["name"]:
            # Pydantic stops at the name: the steps are checked here too, so all is said at once.
            required_problems(cards)
        flow = {**body, "id": flow_id} if flow_id else body
        return _builder(request, session, palette, flow, cards, errors=errors, status_code=422)

    if not body["name"]:
        return again([{"loc": ["body", "name"], "msg": "Give the flow a name."}])
    try:
        if flow_id is None:
            saved = await api.post(FLOWS, body)
        else:
            saved = await api.put(f"{FLOWS}/{flow_id}", body)
    except ApiError as exc:
        if exc.status_code == 404:
            raise HTTPException(404, "no such flow") from exc
        if exc.status_code not in (400, 409, 422):
            raise
        return again(exc.detail)
    return go(request, f"/flows/{saved['id']}?saved=1")


def _first(form: dict[str, list[str]], key: str) -> str:
    values = form.get(key) or [""]
    return values[0]


def flow_body(form: Any, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """The flow API's body for the builder's form (a schedule only with the schedule trigger)."""
    status = form.get("status")
    body: dict[str, Any] = {
        "name": str(form.get("name", "")).strip(),
        "trigger_event": str(form.get("trigger_event", "")),
        "flow_definition": {"steps": steps},
        "status": status if status in ("active", "paused") else "active",
    }
    if body["trigger_event"] == SCHEDULE:
        body["schedule"] = {
            "cron": str(form.get("schedule_cron", "")).strip(),
            "timezone": str(form.get("schedule_timezone", "")).strip() or "UTC",
        }
    return body


@router.post("/flows/{flow_id}/status", response_model=None)
async def set_status(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep
) -> Response:
    """Pause or activate a flow, then show the page it was changed from."""
    del session
    form = await request.form()
    action = {"paused": "pause", "active": "activate"}.get(str(form.get("status")))
    if action is None:
        raise HTTPException(422, "status must be active or paused")
    try:
        await api.post(f"{FLOWS}/{flow_id}/{action}")
    except ApiError as exc:
        if exc.status_code in (404, 422):
            raise HTTPException(exc.status_code, exc.message()) from exc
        raise
    back = form.get("back")
    return go(request, back if back == f"/flows/{flow_id}" else "/flows")


@router.post("/flows/{flow_id}/delete", response_model=None)
async def delete_flow(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep
) -> Response:
    del session
    try:
        await api.delete(f"{FLOWS}/{flow_id}")
    except ApiError as exc:
        if exc.status_code != 404:
            raise
    return go(request, "/flows")


@router.get("/builder/step", response_class=HTMLResponse)
async def step_card(
    request: Request,
    session: SessionDep,
    api: ApiDep,
    runtime: RuntimeDep,
    kind: str,
    step_id: str,
    uid: str,
    action_type: str = "",
    trigger_event: str = "",
) -> HTMLResponse:
    """A new step's card, for a palette item dropped on the flow."""
    palette = await load_palette(api, runtime)
    if kind not in STEP_KINDS or not (_STEP_ID.match(step_id) and _STEP_ID.match(uid)):
        raise HTTPException(422, "unknown step kind or malformed id")
    if kind == "action" and palette.action(action_type) is None:
        raise HTTPException(422, f"unknown action type {action_type!r}")
    paths = palette.trigger_paths(trigger_event) if trigger_event else None
    card = new_card(kind, action_type, step_id, uid, palette, paths)
    return render(
        request,
        "step.html",
        session,
        card=card,
        palette=palette,
        operator_words=OPERATOR_WORDS,
        wait_units=WAIT_UNITS,
    )


@router.get("/builder/schedule", response_class=HTMLResponse)
async def schedule_preview(
    request: Request, session: SessionDep, schedule_cron: str = "", schedule_timezone: str = ""
) -> HTMLResponse:
    """The next five run times of a cron line, in the merchant's time zone."""
    return render(
        request,
        "schedule_preview.html",
        session,
        upcoming=upcoming_runs(schedule_cron, schedule_timezone),
    )


@router.get("/builder/fields", response_class=HTMLResponse)
async def trigger_fields(
    request: Request, session: SessionDep, api: ApiDep, runtime: RuntimeDep, trigger_event: str
) -> HTMLResponse:
    """The trigger's fields (datalists and chips), refreshed when the trigger changes."""
    palette = await load_palette(api, runtime)
    return render(request, "trigger_fields.html", session, **picker(palette, trigger_event))


@router.get("/help/templates", response_class=HTMLResponse)
async def template_help(request: Request, session: SessionDep) -> HTMLResponse:
    """How placeholders (`{{trigger.email}}`, filters, `now + 3 days`) work."""
    return render(
        request, "template_help.html", session, section="flows", template_filters=TEMPLATE_FILTERS
    )
