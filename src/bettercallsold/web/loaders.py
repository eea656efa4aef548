"""What the pages read from the APIs, shaped for templates: the palette, flows, run counts."""

from __future__ import annotations

from typing import Any

from bettercallsold.runtime import Runtime
from bettercallsold.web.api import Api
from bettercallsold.web.palette import Palette, palette_from_catalogue

FLOWS = "/plugins/automation/flows"
EXECUTIONS = "/plugins/automation/executions"
CATALOGUE = "/plugins/automation/catalogue"
EXECUTION_STATUSES = (
    "running",
    "waiting",
    "completed",
    "completed_with_errors",
    "failed",
    "skipped",
    "cancelled",
)
_PALETTE_KEY = "web.palette"


async def load_palette(api: Api, runtime: Runtime) -> Palette:
    """The plugin's catalogue (it is static, so read once per process)."""
    cached = runtime.extras.get(_PALETTE_KEY)
    if isinstance(cached, Palette):
        return cached
    answer = await api.get(CATALOGUE)
    palette = palette_from_catalogue(answer)
    runtime.extras[_PALETTE_KEY] = palette
    return palette


async def list_flows(api: Api) -> list[dict[str, Any]]:
    """Every flow of the tenant (with `run_count`, `run_counts`, `last_run_at`, `last_status`),
    by name."""
    flows, _ = await api.list_items(FLOWS, max_pages=20)
    return sorted(flows, key=lambda flow: str(flow.get("name", "")).lower())


def newest_first(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(items, key=lambda item: str(item.get(key) or ""), reverse=True)
