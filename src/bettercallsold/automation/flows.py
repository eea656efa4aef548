"""Flow use cases: create, read, list, update, delete, pause/activate, upsert by name, restore
a version.

A create, and an update that changes a versioned field, writes a new version (`versions.py`);
a status change (pause, activate, publish a draft) does not.

Every definition is validated on save (`definition.validate_flow`); its problems become one
422 with a detail per problem, located at the step id and field (`["body", "flow_definition",
"steps", "action_1", "payload_template", "to"]`). The definition is stored as sent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import interests, repository, schedules, versions
from bettercallsold.automation.definition import FlowProblem, off_the_loop, validate_flow
from bettercallsold.automation.errors import FlowNotFound, InvalidFlow
from bettercallsold.automation.models import AutomationFlow
from bettercallsold.automation.schemas import (
    FlowCreate,
    FlowListItem,
    FlowOut,
    FlowPage,
    FlowUpdate,
)
from bettercallsold.http.pagination import PageRequest, page_of
from bettercallsold.types import utcnow


def problem_location(problem: FlowProblem) -> list[str | int]:
    """Where a problem is, in FastAPI's `loc` style, naming the step by its id."""
    field: list[str | int] = [part for part in problem.field.split(".") if part]
    if problem.step_id is not None:
        return ["body", "flow_definition", "steps", problem.step_id, *field]
    if field and field[0] in {"trigger_event", "name", "status", "flow_definition"}:
        return ["body", *field]
    # A step without a usable id is named by its position, as FastAPI names list items.
    return ["body", "flow_definition", *(int(p) if str(p).isdigit() else p for p in field)]


def check_flow(trigger_event: str, flow_definition: Any, schedule: Any = None) -> None:
    """Raise `InvalidFlow` listing every problem of the definition and the schedule (none:
    returns)."""
    _parsed, problems = validate_flow(trigger_event, flow_definition)
    located = [(problem_location(p), p.message) for p in problems]
    located += [
        (["body", *field.split(".")], message)
        for field, message in schedules.schedule_problems(trigger_event, schedule)
    ]
    if located:
        raise InvalidFlow(located)


def _next_run(flow: AutomationFlow) -> datetime | None:
    """A scheduled flow's next due time, from now; None unless it is an active one."""
    if flow.status != "active":
        return None
    return schedules.first_due(flow.trigger_event, flow.schedule, utcnow())


async def create_flow(session: AsyncSession, tenant_id: uuid.UUID, body: FlowCreate) -> FlowOut:
    await off_the_loop(check_flow, body.trigger_event, body.flow_definition, body.schedule)
    flow = AutomationFlow(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=body.name,
        trigger_event=body.trigger_event,
        flow_definition=body.flow_definition,
        status=body.status,
        schedule=body.schedule,
        version=1,
    )
    flow.next_run_at = _next_run(flow)
    session.add(flow)
    await session.flush()
    await versions.record_version(session, flow)
    await interests.sync_tenant(session, tenant_id)
    await session.refresh(flow)
    return FlowOut.model_validate(flow)


async def get_flow(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID) -> FlowOut:
    return FlowOut.model_validate(await _owned(session, tenant_id, flow_id))


async def list_flows(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest,
    *,
    status: str | None = None,
    trigger_event: str | None = None,
) -> FlowPage:
    """Newest first, each with its run count and its newest execution's time and status."""
    rows = await repository.list_flows(
        session, tenant_id, page, status=status, trigger_event=trigger_event
    )
    flows, cursor = page_of(rows, page, "created_at")
    stats = await repository.run_stats(session, tenant_id, [flow.id for flow in flows])
    items = []
    for flow in flows:
        flow_stats = stats.get(flow.id, repository.RunStats())
        items.append(
            FlowListItem.model_validate(flow).model_copy(
                update={
                    "run_count": flow_stats.run_count,
                    "run_counts": flow_stats.run_counts,
                    "last_run_at": flow_stats.last_run_at,
                    "last_status": flow_stats.last_status,
                }
            )
        )
    return FlowPage(items=items, next_cursor=cursor)


async def update_flow(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, body: FlowUpdate
) -> FlowOut:
    """Apply any subset of the fields (null means unchanged); the result is validated whole.
    A change of a versioned field makes the flow's next version; a status change does not."""
    changes = {key: value for key, value in body.model_dump(exclude_unset=True).items()}
    changes = {key: value for key, value in changes.items() if value is not None}
    return await _apply(session, tenant_id, flow_id, changes)


async def restore_version(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, version: int
) -> FlowOut:
    """Make version `version`'s content the flow's, as a new version (history is never
    rewritten). The content is validated again: rules may have tightened since it was saved."""
    restored = await versions.find_version(session, tenant_id, flow_id, version)
    content = {field: getattr(restored, field) for field in versions.VERSIONED_FIELDS}
    return await _apply(session, tenant_id, flow_id, content, new_version=True)


async def _apply(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    flow_id: uuid.UUID,
    changes: dict[str, Any],
    *,
    new_version: bool = False,
) -> FlowOut:
    """Change the flow; a new version when a versioned field changes or `new_version` says so
    (a restore is a new version even when it changes nothing)."""
    # The row lock also serialises version numbers: two edits never both write version n + 1.
    flow = await _owned(session, tenant_id, flow_id, for_update=True)
    trigger_event = changes.get("trigger_event", flow.trigger_event)
    if trigger_event != schedules.SCHEDULE_TRIGGER and flow.schedule is not None:
        changes.setdefault("schedule", None)  # a flow that is no longer scheduled has none
    if {"trigger_event", "flow_definition", "schedule"} & changes.keys():
        await off_the_loop(
            check_flow,
            trigger_event,
            changes.get("flow_definition", flow.flow_definition),
            changes.get("schedule", flow.schedule),
        )
    versioned = new_version or versions.changes_content(flow, changes)
    for key, value in changes.items():
        setattr(flow, key, value)
    if {"trigger_event", "schedule", "status"} & changes.keys():
        flow.next_run_at = _next_run(flow)
    if changes.get("status") in {"paused", "draft"}:
        await repository.cancel_waiting(session, tenant_id, flow_id)
    if versioned:
        flow.version += 1
    await session.flush()
    if versioned:
        await versions.record_version(session, flow)
    if {"trigger_event", "status"} & changes.keys():
        await interests.sync_tenant(session, tenant_id)
    await session.refresh(flow)
    return FlowOut.model_validate(flow)


async def set_status(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, status: str
) -> FlowOut:
    return await update_flow(
        session, tenant_id, flow_id, FlowUpdate.model_validate({"status": status})
    )


async def delete_flow(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID) -> None:
    """Delete a flow; its executions stay (with `flow_id` null) for the record."""
    flow = await _owned(session, tenant_id, flow_id, for_update=True)
    await repository.cancel_waiting(session, tenant_id, flow_id)
    await session.delete(flow)
    await session.flush()
    await interests.sync_tenant(session, tenant_id)


async def upsert_flow_by_name(
    session: AsyncSession, tenant_id: uuid.UUID, body: FlowCreate, *, replace: bool = True
) -> tuple[FlowOut, str]:
    """Create the flow, or update the tenant's flow of the same name; `(flow, what was done)`
    where what is `created`, `updated` or (with `replace=False`) `kept`."""
    existing = await repository.find_flow_by_name(session, tenant_id, body.name)
    if existing is None:
        return await create_flow(session, tenant_id, body), "created"
    if not replace:
        return FlowOut.model_validate(existing), "kept"
    update = FlowUpdate.model_validate(body.model_dump())
    return await update_flow(session, tenant_id, existing.id, update), "updated"


async def export_flows(session: AsyncSession, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    """The tenant's flows in the shape of `POST /plugins/automation/flows`, oldest first."""
    return [
        FlowCreate.model_validate(flow, from_attributes=True).model_dump(
            mode="json", exclude_none=True
        )
        for flow in await repository.all_flows(session, tenant_id)
    ]


async def _owned(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, *, for_update: bool = False
) -> AutomationFlow:
    flow = await repository.get_flow(session, tenant_id, flow_id, for_update=for_update)
    if flow is None:
        raise FlowNotFound()
    return flow
