"""What happened outside the flows' own records: webhook deliveries, notifications, tasks."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from bettercallsold.web.api import ApiDep, ApiError, ResourceId, page_items
from bettercallsold.web.auth import SessionDep, is_htmx
from bettercallsold.web.loaders import newest_first
from bettercallsold.web.rendering import render

router = APIRouter()
DELIVERIES = "/api/webhooks/deliveries"
SUBSCRIPTIONS = "/api/webhooks/subscriptions"
DELIVERY_STATUSES = ("pending", "delivered", "failed", "dead")


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
    )
