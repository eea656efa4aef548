"""Reading executions (tenant-scoped): the list and one, each with the receiver's log rows,
asked of the receiver's `ActionLog` port (`ports.py`), never read from its table."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import execution_list, repository
from bettercallsold.automation.errors import ExecutionNotFound
from bettercallsold.automation.models import AutomationExecution
from bettercallsold.automation.schemas import ExecutionOut, ExecutionPage
from bettercallsold.http.pagination import PageRequest, page_of
from bettercallsold.ports import ActionLog
from bettercallsold.runtime import Runtime

# The answer's fields the execution row itself holds; `events` comes from the receiver's table.
_COLUMNS = tuple(name for name in ExecutionOut.model_fields if name != "events")


def action_log_of(runtime: Runtime) -> ActionLog:
    """The receiver's log, wired in every mode (a read over the shared database)."""
    found = runtime.ports.action_log
    assert found is not None, "wiring.py plugs the receiver's action log in every mode"
    return found


def _execution_out(execution: AutomationExecution, events: list[dict[str, Any]]) -> ExecutionOut:
    """The list and the detail build their rows here, so the two can't drift apart."""
    columns = {name: getattr(execution, name) for name in _COLUMNS}
    return ExecutionOut.model_validate({**columns, "events": events})


async def list_executions(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest,
    *,
    action_log: ActionLog,
    flow_id: uuid.UUID | None = None,
    status: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    q: str | None = None,
) -> ExecutionPage:
    """Newest first, each with its event-log rows (one query for the whole page). Filters:
    see `execution_list.py`; an empty range or a blank `q` is `Unprocessable` naming it."""
    filters = execution_list.ExecutionFilters(flow_id, status, since, until, q).checked()
    rows = await execution_list.list_executions(session, tenant_id, page, filters)
    items, cursor = page_of(rows, page, "started_at")
    events = await action_log.entries(session, tenant_id, [row.id for row in items])
    return ExecutionPage(
        items=[_execution_out(row, events.get(row.id, [])) for row in items],
        next_cursor=cursor,
    )


async def get_execution(
    session: AsyncSession, tenant_id: uuid.UUID, execution_id: uuid.UUID, action_log: ActionLog
) -> ExecutionOut:
    """One execution of the tenant; another tenant's is `ExecutionNotFound`, as is none."""
    execution = await repository.get_execution(session, execution_id, tenant_id=tenant_id)
    if execution is None:
        raise ExecutionNotFound()
    events = await action_log.entries(session, tenant_id, [execution_id])
    return _execution_out(execution, events.get(execution_id, []))
