"""What happened outside the flows' own records: webhook deliveries, notifications, tasks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from bettercallsold.web.api import Api, ApiDep, ApiError, ResourceId, page_items
from bettercallsold.web.auth import SessionDep, is_htmx
from bettercallsold.web.loaders import EXECUTIONS, newest_first
from bettercallsold.web.rendering import render
from bettercallsold.web.sessions import ActiveSession
from bettercallsold.web.wording import validation_message

router = APIRouter()
DELIVERIES = "/api/webhooks/deliveries"
SUBSCRIPTIONS = "/api/webhooks/subscriptions"
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dead")
EVENT_TYPES = (
    "customer.created",
    "customer.updated",
    "product.created",
    "product.updated",
    "product.deleted",
    "order.created",
    "order.status_changed",
    "notification.sent",
    "task.created",
    "task.assigned",
)


@router.get("/deliveries", response_class=HTMLResponse)
async def deliveries(
    request: Request,
    session: SessionDep,
    api: ApiDep,
    status: str = "",
    subscription_id: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Webhook deliveries with every attempt; dead ones can be sent again."""
    query: dict[str, str | int | None] = {
        "status": status,
        "subscription_id": subscription_id,
        "cursor": cursor,
        "limit": 50,
    }
    try:
        page = await api.get(DELIVERIES, query)
    except ApiError as exc:
        if exc.status_code != 422:
            raise
        # A hand-edited URL with a filter the API refuses: show everything instead of failing.
        status = subscription_id = ""
        page = await api.get(DELIVERIES, {"limit": 50})
    items, next_cursor = page_items(page)
    subscriptions, _ = await api.list_items(SUBSCRIPTIONS, max_pages=5)
    template = "delivery_rows.html" if is_htmx(request) else "deliveries.html"
    return render(
        request,
        template,
        session,
        section="deliveries",
        deliveries=newest_first(items, "created_at"),
        subscribers={str(item.get("id")): item for item in subscriptions},
        event_types=EVENT_TYPES,
        secret="",
        created=None,
        form_error="",
        statuses=DELIVERY_STATUSES,
        status=status,
        subscriptions=subscriptions,
        subscription_id=subscription_id,
        next_cursor=next_cursor,
    )


@router.post("/deliveries/{delivery_id}/redeliver", response_class=HTMLResponse)
async def redeliver(
    request: Request, delivery_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    """`POST /api/webhooks/deliveries/{id}/redeliver`; the row says it was queued again."""
    try:
        await api.post(f"{DELIVERIES}/{delivery_id}/redeliver")
    except ApiError as exc:
        if exc.status_code == 404:
            raise HTTPException(404, "no such delivery") from exc
        if exc.status_code >= 500:
            raise
        return render(request, "redelivered.html", session, error=exc.message())
    return render(request, "redelivered.html", session, error="")


async def _subscriptions_card(
    request: Request,
    session: ActiveSession,
    api: Api,
    *,
    created: dict[str, Any] | None = None,
    form_error: str = "",
    status_code: int = 200,
    test_sent: object = None,
) -> HTMLResponse:
    subscriptions, _ = await api.list_items(SUBSCRIPTIONS, max_pages=5)
    return render(
        request,
        "subscriptions.html",
        session,
        subscriptions=subscriptions,
        event_types=EVENT_TYPES,
        created=created,
        form_error=form_error,
        status_code=status_code,
        test_sent=str(test_sent) if test_sent is not None else "",
    )


@router.post("/subscriptions", response_class=HTMLResponse)
async def create_subscription(request: Request, session: SessionDep, api: ApiDep) -> HTMLResponse:
    """Subscribe a URL; the answer shows its signing secret, this once."""
    form = await request.form()
    chosen = [str(value) for value in form.getlist("event_types")]
    body = {
        "url": str(form.get("url", "")).strip(),
        "event_types": chosen or ["*"],
        "description": str(form.get("description", "")).strip() or None,
    }
    try:
        created: dict[str, Any] = await api.post(SUBSCRIPTIONS, body)
    except ApiError as exc:
        if exc.status_code >= 500:
            raise
        error = validation_message(exc.message())
        return await _subscriptions_card(request, session, api, form_error=error)
    return await _subscriptions_card(request, session, api, created=created)


@router.post("/subscriptions/{subscription_id}/status", response_class=HTMLResponse)
async def subscription_status(
    request: Request, subscription_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    """Pause a subscription (no new deliveries) or make it active again."""
    form = await request.form()
    status = str(form.get("status", ""))
    if status not in ("active", "paused"):
        raise HTTPException(422, "status must be active or paused")
    try:
        await api.put(f"{SUBSCRIPTIONS}/{subscription_id}", {"status": status})
    except ApiError as exc:
        if exc.status_code == 404:
            raise HTTPException(404, "no such subscription") from exc
        raise
    return await _subscriptions_card(request, session, api)


@router.post("/subscriptions/{subscription_id}/test", response_class=HTMLResponse)
async def send_test_event(
    request: Request, subscription_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    """Send a signed test event to this subscriber; its delivery shows below like any other."""
    try:
        await api.post(f"{SUBSCRIPTIONS}/{subscription_id}/test", {})
    except ApiError as exc:
        if exc.status_code == 404:
            raise HTTPException(404, "no such subscription") from exc
        if exc.status_code == 409:
            message = "This subscription is paused: resume it to send a test event."
            return await _subscriptions_card(request, session, api, form_error=message)
        raise
    return await _subscriptions_card(request, session, api, test_sent=subscription_id)


@router.post("/subscriptions/{subscription_id}/delete", response_class=HTMLResponse)
async def delete_subscription(
    request: Request, subscription_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    try:
        await api.delete(f"{SUBSCRIPTIONS}/{subscription_id}")
    except ApiError as exc:
        if exc.status_code != 404:
            raise
    return await _subscriptions_card(request, session, api)


async def _made_by(api: Api) -> dict[str, str]:
    """Which run made each notification or task: the id in a recent action's result."""
    try:
        page = await api.get(EXECUTIONS, {"limit": 100})
    except ApiError:
        return {}
    made: dict[str, str] = {}
    for execution in page_items(page)[0]:
        for result in execution.get("execution_results") or []:
            data = result.get("data") if isinstance(result, dict) else None
            if isinstance(data, dict) and data.get("id"):
                made[str(data["id"])] = str(execution.get("id"))
    return made


@router.get("/activity", response_class=HTMLResponse)
async def activity(request: Request, session: SessionDep, api: ApiDep) -> HTMLResponse:
    """Notifications and tasks: what the flows (and everyone else) sent and created."""
    notifications, more_notifications = await api.list_items(
        "/api/notifications", limit=100, max_pages=1
    )
    tasks, more_tasks = await api.list_items("/api/tasks", limit=100, max_pages=1)
    return render(
        request,
        "activity.html",
        session,
        section="activity",
        notifications=newest_first(notifications, "created_at"),
        tasks=newest_first(tasks, "created_at"),
        more_notifications=more_notifications,
        more_tasks=more_tasks,
        made_by=await _made_by(api),
    )
