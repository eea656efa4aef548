"""Every SQL statement of the automation plugin; callers own the transaction (flush only)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from psycopg.types.json import Jsonb
from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation.models import AutomationExecution, AutomationFlow, ReceivedEvent
from bettercallsold.db.raw import driver_connection
from bettercallsold.http.pagination import PageRequest, paginate
from bettercallsold.ports import ExecutionRef
from bettercallsold.types import JSON


def _defer_run(source: str, scheduled_at: str = "NULL") -> str:
    """SQL deferring one job (`%(queue)s`, `%(task)s`) for the execution each row of the CTE
    `source` returns, in the statement's own transaction (procrastinate's SQL API, as
    `jobs/deferral.py` explains); `scheduled_at`: when it may start (NULL: at once)."""
    return f"""SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(
        %(queue)s, %(task)s, 0, NULL, NULL,
        jsonb_build_object('execution_id', {source}.id::text), {scheduled_at}
    )::procrastinate_job_to_defer_v1])
    FROM {source}"""


# ---------------------------------------------------------------------------------- flows


async def get_flow(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, *, for_update: bool = False
) -> AutomationFlow | None:
    statement = select(AutomationFlow).where(
        AutomationFlow.id == flow_id, AutomationFlow.tenant_id == tenant_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def find_flow_by_name(
    session: AsyncSession, tenant_id: uuid.UUID, name: str
) -> AutomationFlow | None:
    statement = (
        select(AutomationFlow)
        .where(AutomationFlow.tenant_id == tenant_id, AutomationFlow.name == name)
        .order_by(AutomationFlow.created_at, AutomationFlow.id)
        .limit(1)
        .with_for_update()
    )
    return await session.scalar(statement)


async def list_flows(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest,
    *,
    status: str | None = None,
    trigger_event: str | None = None,
) -> Sequence[AutomationFlow]:
    statement = select(AutomationFlow).where(AutomationFlow.tenant_id == tenant_id)
    if status is not None:
        statement = statement.where(AutomationFlow.status == status)
    if trigger_event is not None:
        statement = statement.where(AutomationFlow.trigger_event == trigger_event)
    statement = paginate(statement, page, AutomationFlow.created_at, AutomationFlow.id)
    return (await session.scalars(statement)).all()


async def all_flows(session: AsyncSession, tenant_id: uuid.UUID) -> Sequence[AutomationFlow]:
    statement = (
        select(AutomationFlow)
        .where(AutomationFlow.tenant_id == tenant_id)
        .order_by(AutomationFlow.created_at, AutomationFlow.name, AutomationFlow.id)
    )
    return (await session.scalars(statement)).all()


@dataclass
class RunStats:
    run_count: int = 0
    run_counts: dict[str, int] = field(default_factory=dict)
    last_run_at: datetime | None = None
    last_status: str | None = None


async def run_stats(
    session: AsyncSession, tenant_id: uuid.UUID, flow_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RunStats]:
    """Executions per flow and status, and the newest one's time and status (one query)."""
    if not flow_ids:
        return {}
    rows = await session.execute(
        text(
            """
            SELECT flow_id, status, count(*) AS runs, max(started_at) AS last_run_at
            FROM automation_executions
            WHERE tenant_id = :tenant_id AND flow_id = ANY(:flow_ids)
            GROUP BY flow_id, status
            """
        ),
        {"tenant_id": tenant_id, "flow_ids": list(flow_ids)},
    )
    stats: dict[uuid.UUID, RunStats] = {}
    for row in rows:
        found = stats.setdefault(row.flow_id, RunStats())
        found.run_count += row.runs
        found.run_counts[row.status] = row.runs
        if found.last_run_at is None or row.last_run_at > found.last_run_at:
            found.last_run_at, found.last_status = row.last_run_at, row.status
    return stats


async def active_trigger_types(session: AsyncSession, tenant_id: uuid.UUID) -> list[str]:
    """The event types some active flow of the tenant is triggered by."""
    found = await session.scalars(
        select(AutomationFlow.trigger_event)
        .where(AutomationFlow.tenant_id == tenant_id, AutomationFlow.status == "active")
        .distinct()
    )
    return list(found.all())


async def active_trigger_pairs(session: AsyncSession) -> list[tuple[uuid.UUID, str]]:
    """(tenant, event type) for every tenant's active flows."""
    rows = await session.execute(
        select(AutomationFlow.tenant_id, AutomationFlow.trigger_event)
        .where(AutomationFlow.status == "active")
        .distinct()
    )
    return [(row.tenant_id, row.trigger_event) for row in rows]


_START_FLOWS = """
    WITH flows AS (
        SELECT f.id, f.flow_definition, f.version,
               row_number() OVER (ORDER BY f.created_at, f.id) - 1 AS position
        FROM automation_flows AS f
        WHERE f.tenant_id = %(tenant_id)s AND f.trigger_event = %(event_type)s
          AND f.status = 'active'
    ),
    started AS (
        INSERT INTO automation_executions (id, flow_id, tenant_id, status, trigger_data,
            event_id, event_type, root_event_id, causation_depth, definition, flow_version, steps,
            error, completed_at)
        SELECT gen_random_uuid(), flows.id, %(tenant_id)s,
               CASE WHEN %(refused)s::text IS NULL THEN 'running' ELSE 'failed' END,
               %(payload)s, %(event_id)s, %(event_type)s, %(root_event_id)s, %(depth)s,
               flows.flow_definition,
               flows.version, '[]', %(refused)s::text,
               CASE WHEN %(refused)s::text IS NULL THEN NULL ELSE now() END
        FROM flows
        ON CONFLICT (flow_id, event_id) DO NOTHING
        RETURNING id, flow_id, status
    ),
    backlog AS (
        SELECT count(*) AS waiting FROM (
            SELECT 1 FROM automation_executions
            WHERE tenant_id = %(tenant_id)s AND status = 'running' LIMIT %(cap)s
        ) AS running
    ),
    deferred AS (
        SELECT procrastinate_defer_jobs_v1(array_agg(ROW(
            %(queue)s, %(task)s, -least(backlog.waiting + flows.position, %(cap)s), NULL, NULL,
            jsonb_build_object('execution_id', started.id::text), NULL
        )::procrastinate_job_to_defer_v1)) AS job_ids
        FROM started JOIN flows ON flows.id = started.flow_id CROSS JOIN backlog
        WHERE started.status = 'running'
        HAVING count(*) > 0
    )
    SELECT (SELECT array_agg(id ORDER BY id) FROM started), (SELECT job_ids FROM deferred)
"""
"""The intake in one round trip: the tenant's active flows for the event type
(`ix_automation_flows_active_trigger`), one execution each (unique per flow and event), and
their jobs with the tenant's fair priority (`jobs/deferral.fair_priority`: minus the executions
of the tenant still running, capped, counted only when a flow started). `refused` (the depth
limit's message) records the executions `failed` instead, with no job. Only `active` flows
start: a `draft` or `paused` one never does. Each execution records the flow's `version` (its
`definition` is that version's)."""


@dataclass(frozen=True, slots=True)
class StartRequest:
    tenant_id: uuid.UUID
    event_type: str
    event_id: str
    payload: JSON
    causation_depth: int
    root_event_id: str
    refused: str | None
    queue: str
    task: str
    cap: int


async def start_executions(session: AsyncSession, request: StartRequest) -> list[uuid.UUID]:
    """Start (or refuse) one execution per matching flow, with its job; the new ids."""
    connection = await driver_connection(session)
    parameters = {
        "tenant_id": request.tenant_id,
        "event_type": request.event_type,
        "event_id": request.event_id,
        "payload": Jsonb(request.payload),
        "depth": request.causation_depth,
        "root_event_id": request.root_event_id,
        "refused": request.refused,
        "queue": request.queue,
        "task": request.task,
        "cap": request.cap,
    }
    row = await (await connection.execute(_START_FLOWS, parameters)).fetchone()
    return list(row[0] or []) if row is not None else []


# ----------------------------------------------------------------------------- executions


@dataclass(frozen=True, slots=True)
class ClaimedExecution:
    id: uuid.UUID
    tenant_id: uuid.UUID
    causation_depth: int
    trigger_data: JSON
    definition: JSON | None
    started_at: datetime
    state: JSON | None
    clock: datetime
    """The database's time of the claim: a wait whose resume time has come is over."""
    root_event_id: str | None


_CLAIM = """
    SELECT id, tenant_id, causation_depth, trigger_data, definition, started_at, state, now(),
           root_event_id
    FROM automation_executions
    WHERE id = %s AND (status = 'running' OR (status = 'waiting' AND resume_at <= now()))
    FOR UPDATE
"""


async def claim_execution(
    session: AsyncSession, execution_id: uuid.UUID
) -> ClaimedExecution | None:
    """The execution, row-locked to the end of the transaction, if it is `running` or its wait
    is over. A twin run of the same job waits here, then finds it ended and does nothing; a
    resume job that comes too early (the wait was moved) finds nothing either."""
    connection = await driver_connection(session)
    row = await (await connection.execute(_CLAIM, (execution_id,))).fetchone()
    if row is None:
        return None
    return ClaimedExecution(*row)


async def get_execution(
    session: AsyncSession, execution_id: uuid.UUID, *, tenant_id: uuid.UUID | None = None
) -> AutomationExecution | None:
    statement = select(AutomationExecution).where(AutomationExecution.id == execution_id)
    if tenant_id is not None:
        statement = statement.where(AutomationExecution.tenant_id == tenant_id)
    return await session.scalar(statement)


async def finish_execution(
    session: AsyncSession,
    execution_id: uuid.UUID,
    *,
    status: str,
    steps: list[JSON],
    results: list[JSON] | None,
    error: str | None,
) -> bool:
    """Record a running execution's end; False when it had already ended (a duplicate run)."""
    connection = await driver_connection(session)
    parameters = (status, Jsonb(steps), None if results is None else Jsonb(results), error)
    cursor = await connection.execute(_FINISH, (*parameters, execution_id))
    return await cursor.fetchone() is not None


_FINISH = """
    UPDATE automation_executions
    SET status = %s, steps = %s, execution_results = %s, error = %s,
        completed_at = clock_timestamp(), updated_at = now(), resume_at = NULL
    WHERE id = %s AND status IN ('running', 'waiting')
    RETURNING id
"""
"""`clock_timestamp()`, not the transaction's start: an execution's duration is its real one."""


_LAUNCH = f"""
    WITH flow AS (
        SELECT id, flow_definition, version, trigger_event
        FROM automation_flows WHERE id = %(flow_id)s AND tenant_id = %(tenant_id)s
    ),
    started AS (
        INSERT INTO automation_executions (id, flow_id, tenant_id, status, trigger_data,
            event_id, event_type, root_event_id, causation_depth, definition, flow_version,
            steps)
        SELECT gen_random_uuid(), flow.id, %(tenant_id)s, 'running', %(payload)s,
               %(event_id)s, flow.trigger_event, %(event_id)s, 0, flow.flow_definition,
               flow.version, '[]'
        FROM flow
        ON CONFLICT (flow_id, event_id) DO NOTHING
        RETURNING id
    ),
    deferred AS (
        {_defer_run("started")}
    )
    SELECT id, (SELECT count(*) FROM deferred) FROM started
"""
"""One execution of one flow, not started by a platform event (a schedule's due time, "run
now"), with its job: `event_id` is its own key (`schedule:<flow>:<due time>` starts once however
many workers try) and the root of the actions it causes."""


@dataclass(frozen=True, slots=True)
class Launch:
    tenant_id: uuid.UUID
    flow_id: uuid.UUID
    event_id: str
    payload: JSON
    queue: str
    task: str


async def launch_execution(session: AsyncSession, launch: Launch) -> uuid.UUID | None:
    """Start one execution of the flow; None when the flow is not the tenant's or the key was
    already started."""
    connection = await driver_connection(session)
    parameters = {
        "tenant_id": launch.tenant_id,
        "flow_id": launch.flow_id,
        "event_id": launch.event_id,
        "payload": Jsonb(launch.payload),
        "queue": launch.queue,
        "task": launch.task,
    }
    row = await (await connection.execute(_LAUNCH, parameters)).fetchone()
    return row[0] if row is not None else None


_RERUN = f"""
    WITH original AS (
        SELECT o.id, o.trigger_data, coalesce(o.event_type, f.trigger_event) AS event_type,
               o.causation_depth, f.id AS flow_id, f.flow_definition, f.version
        FROM automation_executions AS o
        JOIN automation_flows AS f ON f.id = o.flow_id AND f.tenant_id = o.tenant_id
        WHERE o.id = %(original_id)s AND o.tenant_id = %(tenant_id)s
    ),
    started AS (
        INSERT INTO automation_executions (id, flow_id, tenant_id, status, trigger_data,
            event_id, event_type, root_event_id, causation_depth, definition, flow_version,
            steps, state, rerun_of)
        SELECT gen_random_uuid(), original.flow_id, %(tenant_id)s, 'running',
               original.trigger_data, %(event_id)s, original.event_type, %(event_id)s,
               original.causation_depth, original.flow_definition, original.version, '[]',
               %(state)s, original.id
        FROM original
        RETURNING id
    ),
    deferred AS (
        {_defer_run("started")}
    )
    SELECT id, (SELECT count(*) FROM deferred) FROM started
"""
"""A re-run, with its job, as `_LAUNCH` starts a "run now": the original's trigger data (copied
here, never sent back and forth), the flow's latest definition and version, and `state` (the
engine's `Memory`: the original's successful results when re-running from the failed step).
Nothing is inserted when the original is not the tenant's or its flow was deleted. The
original's `causation_depth` is kept: a re-run of an execution that automations caused is as
deep in the chain, so the loop limit still holds; `event_id` is the re-run's own key and the
root of the actions it causes (their budget per outside event starts afresh)."""


@dataclass(frozen=True, slots=True)
class Rerun:
    tenant_id: uuid.UUID
    original_id: uuid.UUID
    event_id: str
    state: JSON | None
    queue: str
    task: str


async def rerun_execution(session: AsyncSession, rerun: Rerun) -> uuid.UUID | None:
    """Start a re-run of the tenant's execution; None when it is not the tenant's or its flow
    is gone."""
    connection = await driver_connection(session)
    parameters = {
        "tenant_id": rerun.tenant_id,
        "original_id": rerun.original_id,
        "event_id": rerun.event_id,
        "state": None if rerun.state is None else Jsonb(rerun.state),
        "queue": rerun.queue,
        "task": rerun.task,
    }
    row = await (await connection.execute(_RERUN, parameters)).fetchone()
    return row[0] if row is not None else None


async def executions_for_events(
    session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID, event_ids: Sequence[str]
) -> dict[str, AutomationExecution]:
    """The flow's execution for each of these events (one per flow and event, by
    `uq_automation_executions_flow_event`), by event id; an event it did not run for is
    absent. One query for a whole replay."""
    if not event_ids:
        return {}
    statement = select(AutomationExecution).where(
        AutomationExecution.tenant_id == tenant_id,
        AutomationExecution.flow_id == flow_id,
        AutomationExecution.event_id.in_(list(event_ids)),
    )
    rows = (await session.scalars(statement)).all()
    return {row.event_id: row for row in rows if row.event_id is not None}


@dataclass(frozen=True, slots=True)
class Progress:
    steps: list[JSON]
    results: list[JSON]
    state: JSON
    queue: str
    task: str
    """The job that makes the outside call the execution stopped at."""


_PROGRESS = f"""
    WITH recorded AS (
        UPDATE automation_executions
        SET steps = %(steps)s, execution_results = %(results)s, state = %(state)s,
            updated_at = now()
        WHERE id = %(id)s AND status = 'running'
        RETURNING id
    )
    {_defer_run("recorded")}
"""


async def record_progress(
    session: AsyncSession, execution_id: uuid.UUID, progress: Progress
) -> bool:
    """What a running execution did so far, and the job of the outside call it stopped at;
    False if it had ended."""
    connection = await driver_connection(session)
    parameters = {
        "id": execution_id,
        "steps": Jsonb(progress.steps),
        "results": Jsonb(progress.results),
        "state": Jsonb(progress.state),
        "queue": progress.queue,
        "task": progress.task,
    }
    cursor = await connection.execute(_PROGRESS, parameters)
    return await cursor.fetchone() is not None


_REMEMBER = f"""
    WITH remembered AS (
        UPDATE automation_executions
        SET state = jsonb_set(
                jsonb_set(coalesce(state, '{{}}'), '{{results}}',
                          coalesce(state -> 'results', '{{}}')),
                ARRAY['results', %(key)s], %(result)s) - 'calling',
            updated_at = now()
        WHERE id = %(id)s AND status = 'running' AND state -> 'calling' ->> 'step_id' = %(key)s
        RETURNING id
    )
    {_defer_run("remembered")}
"""


async def remember_result(
    session: AsyncSession,
    execution_id: uuid.UUID,
    key: str,
    result: JSON,
    queue: str,
    task: str,
) -> bool:
    """Keep an outside call's result in the execution's memory (the next run reuses it) and
    defer that run; False when the execution no longer waits for this call."""
    connection = await driver_connection(session)
    parameters = {
        "id": execution_id,
        "key": key,
        "result": Jsonb(result),
        "queue": queue,
        "task": task,
    }
    cursor = await connection.execute(_REMEMBER, parameters)
    return await cursor.fetchone() is not None


@dataclass(frozen=True, slots=True)
class Suspension:
    """A run that stopped at a wait: what it did so far, and when it goes on."""

    steps: list[JSON]
    results: list[JSON]
    state: JSON
    resume_at: datetime
    queue: str
    task: str


_SUSPEND = f"""
    WITH suspended AS (
        UPDATE automation_executions
        SET status = 'waiting', steps = %(steps)s, execution_results = %(results)s,
            state = %(state)s, resume_at = %(resume_at)s, updated_at = now()
        WHERE id = %(id)s AND status IN ('running', 'waiting')
        RETURNING id
    )
    {_defer_run("suspended", "%(resume_at)s")}
"""
"""The execution waits (no process holds it) and its run job is scheduled at its resume time
(procrastinate's `scheduled_at`), in the transaction that recorded the wait."""


async def suspend_execution(
    session: AsyncSession, execution_id: uuid.UUID, suspension: Suspension
) -> bool:
    """Record a wait and schedule the run that ends it; False when the execution had ended."""
    connection = await driver_connection(session)
    parameters = {
        "id": execution_id,
        "steps": Jsonb(suspension.steps),
        "results": Jsonb(suspension.results),
        "state": Jsonb(suspension.state),
        "resume_at": suspension.resume_at,
        "queue": suspension.queue,
        "task": suspension.task,
    }
    cursor = await connection.execute(_SUSPEND, parameters)
    return await cursor.fetchone() is not None


_RESUME_NOW = f"""
    WITH resumed AS (
        UPDATE automation_executions
        SET resume_at = now(), updated_at = now(),
            state = jsonb_set(state, ARRAY['waits', state ->> 'pending'], to_jsonb(now()))
        WHERE id = %(id)s AND tenant_id = %(tenant_id)s AND status = 'waiting'
          AND state ->> 'pending' IS NOT NULL
        RETURNING id
    )
    {_defer_run("resumed")}
"""
"""`POST .../resume`: the pending wait (the engine's `Memory.pending`) is over now, and a run job
is deferred at once; the scheduled one finds nothing left to do."""


async def resume_now(
    session: AsyncSession, tenant_id: uuid.UUID, execution_id: uuid.UUID, queue: str, task: str
) -> bool:
    """End a waiting execution's wait now; False when it is not waiting (or not the tenant's)."""
    connection = await driver_connection(session)
    parameters = {
        "id": execution_id,
        "tenant_id": tenant_id,
        "queue": queue,
        "task": task,
    }
    cursor = await connection.execute(_RESUME_NOW, parameters)
    return await cursor.fetchone() is not None


async def wake_execution(session: AsyncSession, execution_id: uuid.UUID) -> bool:
    """A waiting execution whose time has come is `running` again; False if it was not."""
    connection = await driver_connection(session)
    cursor = await connection.execute(
        """
        UPDATE automation_executions SET status = 'running', updated_at = now()
        WHERE id = %s AND status = 'waiting' AND resume_at <= now()
        RETURNING id
        """,
        (execution_id,),
    )
    return await cursor.fetchone() is not None


async def cancel_waiting(session: AsyncSession, tenant_id: uuid.UUID, flow_id: uuid.UUID) -> int:
    """Pausing or deleting a flow: its waiting executions end `cancelled`; how many."""
    connection = await driver_connection(session)
    cursor = await connection.execute(
        """
        UPDATE automation_executions
        SET status = 'cancelled', completed_at = clock_timestamp(), resume_at = NULL,
            updated_at = now(), error = 'cancelled: the flow was paused or deleted'
        WHERE flow_id = %s AND tenant_id = %s AND status = 'waiting'
        """,
        (flow_id, tenant_id),
    )
    return cursor.rowcount


async def execution_ref(
    session: AsyncSession, execution_id: uuid.UUID
) -> tuple[ExecutionRef, str] | None:
    """An execution as the event receiver needs it (`ports.ExecutionDirectory`), and its
    status; None when there is none. Any tenant's: the receiver scopes to the one it finds."""
    row = (
        await session.execute(
            select(
                AutomationExecution.tenant_id,
                AutomationExecution.causation_depth,
                AutomationExecution.root_event_id,
                AutomationExecution.status,
            ).where(AutomationExecution.id == execution_id)
        )
    ).one_or_none()
    if row is None:
        return None
    reference = ExecutionRef(
        id=execution_id,
        tenant_id=row.tenant_id,
        causation_depth=row.causation_depth,
        root_event_id=row.root_event_id,
    )
    return reference, row.status


# ------------------------------------------------------------------------ received events


async def insert_received_event(session: AsyncSession, row: JSON) -> uuid.UUID | None:
    """Store a received event; None when its webhook-id or event id was already received."""
    statement = (
        insert(ReceivedEvent).values(**row).on_conflict_do_nothing().returning(ReceivedEvent.id)
    )
    return await session.scalar(statement)


async def delete_processed_received_events(
    session: AsyncSession, cutoff: datetime, batch: int
) -> int:
    """Delete up to `batch` received events, of every tenant, received before `cutoff`; how
    many went. Oldest first (`ix_automation_received_events_received`). A received event's
    flows start in the transaction that stores it, so none is ever waiting for its flows."""
    doomed = (
        select(ReceivedEvent.id)
        .where(ReceivedEvent.received_at < cutoff)
        .order_by(ReceivedEvent.received_at)
        .limit(batch)
    )
    statement = delete(ReceivedEvent).where(ReceivedEvent.id.in_(doomed))
    connection = await session.connection()
    return (await connection.execute(statement)).rowcount
