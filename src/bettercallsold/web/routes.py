"""The UI's router: every page, fragment and static file, hidden from the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from bettercallsold.web import (
    activity,
    assets,
    flows,
    history,
    insights,
    login,
    monitor,
    reruns,
    testing,
)

router = APIRouter(include_in_schema=False, tags=["ui"])
for _part in (assets, login, flows, history, insights, reruns, testing, monitor, activity):
    router.include_router(_part.router)
