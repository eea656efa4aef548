"""Flow versions: every saved state of a flow, immutable, numbered 1, 2, ... per flow.

A create writes version 1; an update that changes a versioned field writes the next one (the
flow row is locked by the update, so two writers never pick the same number); a status change
(pause, activate, publish a draft) writes none. Executions record the version they ran
(`automation_executions.flow_version`, set by the intake from `automation_flows.version`).

The reads here are tenant-scoped: another tenant's flow, like a missing one, is `FlowNotFound`.
This module holds its own few statements (they touch only `automation_flow_versions`).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.errors import FlowNotFound, FlowVersionNotFound
from bettercallsold.automation.models import AutomationFlow, AutomationFlowVersion
from bettercallsold.automation.schemas import FlowVersionOut, FlowVersionPage
from bettercallsold.errors import Unprocessable

VERSIONED_FIELDS: tuple[str, ...] = ("name", "trigger_event", "schedule", "flow_definition")
"""The fields whose change makes a new version, and which a version keeps and a restore puts
back (each a column of the same name on both tables)."""


def changes_content(flow: AutomationFlow, changes: Mapping[str, Any]) -> bool:
    """True when applying `changes` to `flow` alters a versioned field (an equal value sent
    again, as an editor saving everything does, is no change)."""
    return any(
        field in changes and changes[field] != getattr(flow, field) for field in VERSIONED_FIELDS
    )


async def record_version(session: AsyncSession, flow: AutomationFlow) -> None:
    """Write the flow's current state as its version `flow.version` (the caller has set it,
    holding the flow's row lock, or is creating the flow)."""
    content = {field: getattr(flow, field) for field in VERSIONED_FIELDS}
    await session.execute(
        insert(AutomationFlowVersion).values(
            flow_id=flow.id, version=flow.version, tenant_id=flow.tenant_id, **content
        )
    )


# ------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class VersionPageRequest:
    limit: int
    before: int | None
    """The keyset: versions below this number (the previous page's last)."""


def _encode_cursor(version: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([version]).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        (version,) = json.loads(base64.urlsafe_b64decode(padded))
    except (ValueError, TypeError) as exc:
        raise Unprocessable(["query", "cursor"], "invalid cursor") from exc
    if not isinstance(version, int) or isinstance(version, bool):
        raise Unprocessable(["query", "cursor"], "invalid cursor")
    return version


def version_page_request(
    limit: Annotated[int, Query(ge=1, le=200, description="page size")] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> VersionPageRequest:
    """`?limit=&cursor=` as every list takes them; the cursor is opaque, as theirs is."""
    return VersionPageRequest(limit=limit, before=_decode_cursor(cursor) if cursor else None)


VersionPageDep = Annotated[VersionPageRequest, Depends(version_page_request)]


async def list_versions(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, page: VersionPageRequest
) -> FlowVersionPage:
    """The flow's versions, newest first (the primary key walked backwards)."""
    await _require_flow(session, tenant_id, flow_id)
    statement = select(AutomationFlowVersion).where(
        AutomationFlowVersion.flow_id == flow_id, AutomationFlowVersion.tenant_id == tenant_id
    )
    if page.before is not None:
        statement = statement.where(AutomationFlowVersion.version < page.before)
    statement = statement.order_by(AutomationFlowVersion.version.desc()).limit(page.limit + 1)
    rows = list((await session.scalars(statement)).all())
    items = rows[: page.limit]
    cursor = _encode_cursor(items[-1].version) if len(rows) > page.limit else None
    return FlowVersionPage(
        items=[FlowVersionOut.model_validate(row) for row in items], next_cursor=cursor
    )


async def find_version(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, version: int
) -> AutomationFlowVersion:
    """The flow's version `version`; `FlowNotFound` for another tenant's flow or none,
    `FlowVersionNotFound` for a number the flow never had."""
    await _require_flow(session, tenant_id, flow_id)
    found = await session.scalar(
        select(AutomationFlowVersion).where(
            AutomationFlowVersion.flow_id == flow_id,
            AutomationFlowVersion.version == version,
            AutomationFlowVersion.tenant_id == tenant_id,
        )
    )
    if found is None:
        raise FlowVersionNotFound()
    return found


async def get_version(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, version: int
) -> FlowVersionOut:
    return FlowVersionOut.model_validate(await find_version(session, tenant_id, flow_id, version))


async def _require_flow(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    if await repository.get_flow(session, tenant_id, flow_id) is None:
        raise FlowNotFound()
