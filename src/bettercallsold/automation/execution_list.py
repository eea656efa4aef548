"""The executions list's query: a tenant's executions, newest first, keyset-paginated on
(started_at, id), filtered by flow, status, a time range and a search on the trigger data.

Each filter has an index; all but `q`'s yield rows already in the keyset's order, so a page
costs a short index walk whatever the table's size (`bench/executions_list.py`: 1,000,000
executions of one tenant):

| filter | index |
| --- | --- |
| none, `since`, `until` | `ix_automation_executions_tenant_started` (tenant_id, started_at, id) |
| `flow_id` | `ix_automation_executions_flow_started` (flow_id, started_at, id) |
| `status` | `ix_automation_executions_tenant_status_started` (tenant_id, status, started_at, id) |
| `q` | `ix_automation_executions_search_values`, GIN on `automation_search_values(trigger_data)` |

`q` is an exact value, case-insensitive, of any string or number anywhere in the trigger data
(an email, an order id, a customer's name as written), not a substring: the GIN lookup is then
a handful of rows, and needs no extension (pg_trgm's substring index is contrib, which not
every PostgreSQL the contract allows has; its index would also be several times larger). A
value that most executions share (a status, a currency) is answered correctly but slowly: every
match is fetched before the page is cut; it is not what the search is for.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, Text, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation.models import AutomationExecution
from bettercallsold.errors import Unprocessable
from bettercallsold.http.pagination import PageRequest, paginate


@dataclass(frozen=True, slots=True)
class ExecutionFilters:
    flow_id: uuid.UUID | None = None
    status: str | None = None
    since: datetime | None = None
    """Started at or after (inclusive)."""
    until: datetime | None = None
    """Started before (exclusive), so consecutive ranges never count a row twice."""
    q: str | None = None

    def checked(self) -> ExecutionFilters:
        """The filters with naive times read as UTC and `q` trimmed; `Unprocessable` naming
        `until` when the range is empty by construction, or `q` when it is blank."""
        since, until = _utc(self.since), _utc(self.until)
        if since is not None and until is not None and until < since:
            raise Unprocessable(["query", "until"], "until is before since")
        q = self.q
        if q is not None:
            q = q.strip()
            if not q:
                raise Unprocessable(["query", "q"], "q is blank")
        return ExecutionFilters(self.flow_id, self.status, since, until, q)


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


async def list_executions(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest, filters: ExecutionFilters
) -> Sequence[AutomationExecution]:
    """One page (plus one row, to know whether there is a next) of the tenant's executions
    matching every filter given. `filters` must have been `checked()`."""
    return (await session.scalars(list_statement(tenant_id, page, filters))).all()


def search_clause(q: str) -> ColumnElement[bool]:
    """`automation_search_values(trigger_data) @> ARRAY[lower(q)]`: the very expression of the
    GIN index (else the index is not used), `q` lowercased by PostgreSQL as the stored values
    were, so both sides fold case alike."""
    values = func.automation_search_values(AutomationExecution.trigger_data, type_=ARRAY(Text))
    return values.contains(array([func.lower(literal(q, Text))]))


def list_statement(
    tenant_id: uuid.UUID, page: PageRequest, filters: ExecutionFilters
) -> Select[Any]:
    """The list's statement (apart so tests can EXPLAIN it and see each filter's index)."""
    execution = AutomationExecution
    statement = select(execution).where(execution.tenant_id == tenant_id)
    if filters.flow_id is not None:
        statement = statement.where(execution.flow_id == filters.flow_id)
    if filters.status is not None:
        statement = statement.where(execution.status == filters.status)
    if filters.since is not None:
        statement = statement.where(execution.started_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(execution.started_at < filters.until)
    if filters.q is not None:
        # The matches first (an InitPlan: the GIN index alone, as nothing else can answer it),
        # then the tenant's among them by primary key. Written as one `WHERE`, the planner has
        # no statistics of the values (nearly all unique), guesses 0.5 % of rows match, and
        # either walks the tenant's executions newest first or ANDs the GIN bitmap with the
        # tenant's whole bitmap (45 ms at 1,000,000), for what is mostly one row.
        matches = select(execution.id).where(search_clause(filters.q)).scalar_subquery()
        statement = statement.where(execution.id == any_(func.array(matches)))
    return paginate(statement, page, execution.started_at, execution.id)
