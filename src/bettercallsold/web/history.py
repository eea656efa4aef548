"""A flow's versions in the builder: the list, two of them side by side, and restoring one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from bettercallsold.web.api import Api, ApiDep, ApiError, ResourceId, page_items
from bettercallsold.web.auth import SessionDep
from bettercallsold.web.diffing import changed_count, side_by_side, version_lines
from bettercallsold.web.flows import go
from bettercallsold.web.loaders import FLOWS
from bettercallsold.web.rendering import render

router = APIRouter()
_MAX_VERSIONS = 200


async def _versions(api: Api, flow_id: str) -> list[dict[str, Any]]:
    """The flow's versions, newest first (at most `_MAX_VERSIONS`)."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < _MAX_VERSIONS:
        page = await api.get(f"{FLOWS}/{flow_id}/versions", {"limit": 100, "cursor": cursor})
        items, cursor = page_items(page)
        found.extend(items)
        if not cursor:
            break
    return found


@router.get("/flows/{flow_id}/history", response_class=HTMLResponse)
async def history(
    request: Request,
    flow_id: ResourceId,
    session: SessionDep,
    api: ApiDep,
    old: int | None = None,
    new: int | None = None,
) -> HTMLResponse:
    """The versions, and the two picked (by default the latest and the one before) side by
    side with their differences marked."""
    try:
        versions = await _versions(api, flow_id)
    except ApiError as exc:
        if exc.status_code not in (404, 422):
            raise
        versions = []
    numbers = [int(item.get("version") or 0) for item in versions]
    latest = numbers[0] if numbers else 0
    new = new if new in numbers else latest
    older = [number for number in numbers if number < (new or 0)]
    old = old if old in numbers else (older[0] if older else new)
    by_number = {int(item.get("version") or 0): item for item in versions}
    rows = (
        side_by_side(version_lines(by_number[old]), version_lines(by_number[new]))
        if old in by_number and new in by_number
        else []
    )
    return render(
        request,
        "history.html",
        session,
        flow_id=flow_id,
        versions=versions,
        latest=latest,
        old=old,
        new=new,
        rows=rows,
        changes=changed_count(rows),
    )


@router.post("/flows/{flow_id}/versions/{version}/restore", response_model=None)
async def restore(
    request: Request, flow_id: ResourceId, version: int, session: SessionDep, api: ApiDep
) -> Response:
    """Make an old version the flow's content again (as a new version), then show the flow."""
    del session
    try:
        await api.post(f"{FLOWS}/{flow_id}/versions/{version}/restore")
    except ApiError as exc:
        if exc.status_code in (404, 422):
            raise HTTPException(404, "no such version") from exc
        raise
    return go(request, f"/flows/{flow_id}?restored={version}")
