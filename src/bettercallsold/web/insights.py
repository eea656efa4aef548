"""Insights: runs per hour by status, durations and the top errors, for the shop and per flow;
and re-running a flow's failed runs in bulk."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from bettercallsold.web.api import Api, ApiDep, ApiError, ResourceId
from bettercallsold.web.auth import SessionDep
from bettercallsold.web.loaders import EXECUTIONS, list_flows
from bettercallsold.web.rendering import render

router = APIRouter()
INSIGHTS = "/plugins/automation/insights"
WINDOWS = ((24, "last 24 hours"), (72, "last 3 days"), (168, "last 7 days"))
SERIES = ("completed", "completed_with_errors", "failed", "skipped")
_BULK_LIMIT = 200


async def _insights(api: Api, flow_id: str, hours: int) -> dict[str, Any]:
    try:
        data: dict[str, Any] = await api.get(INSIGHTS, {"flow_id": flow_id, "hours": hours})
    except ApiError as exc:
        if exc.status_code not in (404, 422):
            raise
        return {"buckets": [], "duration_ms": {}, "top_errors": []}
    return data


def chart_data(insights: dict[str, Any]) -> dict[str, Any]:
    """The chart's columns: hours (Unix seconds) and one count per status."""
    buckets = [b for b in insights.get("buckets") or [] if isinstance(b, dict)]
    hours = []
    for bucket in buckets:
        try:
            start = datetime.fromisoformat(str(bucket.get("start")).replace("Z", "+00:00"))
        except ValueError:
            continue
        hours.append(int(start.timestamp()))
    columns = {name: [int(b.get(name) or 0) for b in buckets] for name in SERIES}
    return {"x": hours, **columns, "total": sum(sum(values) for values in columns.values())}


def _hours(value: int) -> int:
    return value if value in dict(WINDOWS) else 24


@router.get("/insights", response_class=HTMLResponse)
async def insights_page(
    request: Request, session: SessionDep, api: ApiDep, flow_id: str = "", hours: int = 24
) -> HTMLResponse:
    """The shop's (or one flow's) runs per hour, durations and most frequent errors."""
    flows = await list_flows(api)
    if flow_id not in {str(flow.get("id")) for flow in flows}:
        flow_id = ""
    hours = _hours(hours)
    data = await _insights(api, flow_id, hours)
    return render(
        request,
        "insights.html",
        session,
        section="insights",
        flows=flows,
        flow_id=flow_id,
        hours=hours,
        windows=WINDOWS,
        insights=data,
        chart=chart_data(data),
        chart_id="insights-chart",
    )


@router.get("/flows/{flow_id}/insights", response_class=HTMLResponse)
async def flow_insights(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep, hours: int = 24
) -> HTMLResponse:
    """One flow's chart, for its page."""
    hours = _hours(hours)
    data = await _insights(api, flow_id, hours)
    return render(
        request,
        "insights_panel.html",
        session,
        flow_id=flow_id,
        hours=hours,
        windows=WINDOWS,
        insights=data,
        chart=chart_data(data),
        chart_id="flow-chart",
    )


@router.post("/flows/{flow_id}/rerun-failed", response_class=HTMLResponse)
async def rerun_failed(
    request: Request, flow_id: ResourceId, session: SessionDep, api: ApiDep
) -> HTMLResponse:
    """Re-run every failed run of the flow since a time (each from its failed step)."""
    form = await request.form()
    since = _since(str(form.get("since", "")))
    if since is None:
        return render(
            request, "bulk_rerun.html", session, error="Pick the time to start from.", count=0
        )
    started = skipped = 0
    for status in ("failed", "completed_with_errors"):
        runs, _ = await api.list_items(
            EXECUTIONS, {"flow_id": flow_id, "status": status, "since": since}, max_pages=2
        )
        for run in runs[:_BULK_LIMIT]:
            try:
                await api.post(f"{EXECUTIONS}/{run['id']}/rerun", {"from_failed": True})
            except ApiError as exc:
                if exc.status_code >= 500:
                    raise
                skipped += 1
                continue
            started += 1
    return render(
        request,
        "bulk_rerun.html",
        session,
        error="",
        count=started,
        skipped=skipped,
        since=since,
        flow_id=flow_id,
    )


def _since(text: str) -> str | None:
    """A `datetime-local` value, or a window such as `24h`, as a UTC instant for the API."""
    text = text.strip()
    if text.endswith("h") and text[:-1].isdigit():
        moment = datetime.now(UTC) - timedelta(hours=int(text[:-1]))
        return moment.strftime("%Y-%m-%dT%H:%M:%S")
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return None
    return text[:19]
