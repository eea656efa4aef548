"""The example flows (`automation/examples/*.json`), and loading flows from JSON files.

A file holds one flow in the shape of `POST /plugins/automation/flows`, a list of them, or
`{"flows": [...]}` (what `bcs flows export` writes).
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation.flows import upsert_flow_by_name
from bettercallsold.automation.schemas import FlowCreate

EXAMPLES_DIR = Path(__file__).parent / "examples"


class FlowFileError(ValueError):
    """A flows file that is not JSON, or not flows."""


def parse_flows(document: Any) -> list[FlowCreate]:
    """The flows in a decoded JSON document; `FlowFileError` names the first bad one."""
    if isinstance(document, dict) and isinstance(document.get("flows"), list):
        document = document["flows"]
    items = document if isinstance(document, list) else [document]
    flows = []
    for index, item in enumerate(items):
        try:
            flows.append(FlowCreate.model_validate(item))
        except ValidationError as exc:
            raise FlowFileError(f"flow #{index + 1}: {exc}") from exc
    return flows


def read_flows_file(path: Path) -> list[FlowCreate]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise FlowFileError(f"{path}: {exc}") from exc
    return parse_flows(document)


def example_flows() -> list[FlowCreate]:
    """The example flows shipped with the plugin, in file-name order."""
    return [flow for path in sorted(EXAMPLES_DIR.glob("*.json")) for flow in read_flows_file(path)]


async def seed_example_flows(session: AsyncSession, tenant_id: uuid.UUID) -> dict[str, str]:
    """Create each example flow the tenant has no flow of that name for (idempotent, and a
    merchant's edits to a seeded flow are kept); `{name: "created" | "kept"}`."""
    done = {}
    for flow in example_flows():
        _out, what = await upsert_flow_by_name(session, tenant_id, flow, replace=False)
        done[flow.name] = what
    return done
