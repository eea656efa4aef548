"""The two jobs of a received event: start its flows (`run_event`), run one execution
(`run_execution`). Tasks in `tasks.py` are thin shells around these; tests call them directly.

Safe to run twice. `run_event` locks its event row and marks it processed in the transaction
that inserts the executions (one per flow and event, by a unique index) and defers their jobs.
`run_execution` renders exactly the same batches on every attempt (the execution keeps the
flow's definition, the trigger, and its start time as `now`), so a retried or duplicated run
sends the same `Idempotency-Key`s with the same bodies and the receiver repeats nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.definition import FlowDefinition
from bettercallsold.automation.engine import Outcome, PreparedAction, execute_plan, plan_flow
from bettercallsold.automation.errors import ReceiverUnavailable
from bettercallsold.automation.models import AutomationFlow, ReceivedEvent
from bettercallsold.automation.receiver_client import send_batch
from bettercallsold.db.deferral import JobToDefer, defer_jobs
from bettercallsold.db.engine import read_session
from bettercallsold.runtime import Runtime
from bettercallsold.types import JSON, utcnow

logger = logging.getLogger(__name__)

RUN_EVENT_TASK = "automation:run_event"
RUN_EXECUTION_TASK = "automation:run_execution"
EXECUTIONS_QUEUE = "executions"


async def run_event(runtime: Runtime, received_event_id: uuid.UUID) -> list[uuid.UUID]:
    """Start the tenant's active flows for a received event; the new executions' ids.

    The intake starts the flows in its own transaction (`start_flows`); this job remains for
    events stored without that (by an older version, or a recovery that re-defers them).
    """
    async with runtime.sessionmaker() as session, session.begin():
        event = await repository.lock_received_event(session, received_event_id)
        if event is None or event.processed_at is not None:
            return []
        created = await start_flows(session, event, runtime.settings.max_causation_depth)
        await repository.mark_processed(session, event.id)
    return created


async def start_flows(
    session: AsyncSession, event: ReceivedEvent, max_depth: int
) -> list[uuid.UUID]:
    """In the caller's transaction: one execution per active flow of the event's tenant and type
    (unique per flow and event), and their `run_execution` jobs; the new executions' ids.

    An event deeper than `max_depth` starts nothing: each flow it would have started gets a
    `failed` execution naming the depth limit instead, so a loop is visible. No flow, no job.
    """
    flows = await repository.active_flows_for(session, event.tenant_id, event.event_type)
    if not flows:
        return []
    if event.causation_depth > max_depth:
        rows = [_refused_row(flow, event, max_depth) for flow in flows]
        created = await repository.insert_executions(session, rows)
    else:
        rows = [_running_row(flow, event) for flow in flows]
        created = await repository.insert_executions(session, rows)
        jobs = [
            JobToDefer(
                task_name=RUN_EXECUTION_TASK,
                args={"execution_id": str(execution_id)},
                queue=EXECUTIONS_QUEUE,
            )
            for execution_id in created
        ]
        await defer_jobs(session, jobs)
    logger.info(
        "automation event %s (%s, depth %d): %d flow(s), %d execution(s) recorded",
        event.event_id,
        event.event_type,
        event.causation_depth,
        len(flows),
        len(created),
    )
    return created


def _base_row(flow: AutomationFlow, event: ReceivedEvent) -> JSON:
    return {
        "id": uuid.uuid4(),
        "flow_id": flow.id,
        "tenant_id": event.tenant_id,
        "trigger_data": event.payload,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "causation_depth": event.causation_depth,
        "definition": flow.flow_definition,
        "steps": [],
        "execution_results": None,
        "error": None,
    }


def _running_row(flow: AutomationFlow, event: ReceivedEvent) -> JSON:
    return {**_base_row(flow, event), "status": "running", "completed_at": None}


def _refused_row(flow: AutomationFlow, event: ReceivedEvent, max_depth: int) -> JSON:
    cause = (
        f"caused by execution {event.causation_execution_id}"
        if event.causation_execution_id
        else "caused by an automation"
    )
    error = (
        f"depth limit {max_depth} exceeded: event {event.event_id} ({event.event_type}) has "
        f"causation depth {event.causation_depth}, {cause}; the flow was not started "
        "(a loop of flows triggering each other?)"
    )
    return {**_base_row(flow, event), "status": "failed", "error": error, "completed_at": utcnow()}


async def run_execution(
    runtime: Runtime, execution_id: uuid.UUID, *, final_attempt: bool = True
) -> str | None:
    """Run one execution to its end; its final status (None when it had already ended).

    Raises `ReceiverUnavailable` (the job is retried with the same keys) unless this is the
    final attempt, which records the execution as `failed` instead.
    """
    async with read_session(runtime.sessionmaker) as session:
        execution = await repository.get_execution(session, execution_id)
    if execution is None or execution.status != "running":
        return None
    try:
        definition = FlowDefinition.model_validate(execution.definition or {"steps": []})
    except ValidationError as exc:
        outcome = Outcome(status="failed", steps=[], results=[], error=f"invalid flow: {exc}")
    else:
        plan = plan_flow(definition, execution.trigger_data)

        async def send(batch: Sequence[PreparedAction]) -> list[JSON]:
            token = runtime.settings.internal_api_token
            return await send_batch(
                runtime.http,
                base_url=runtime.settings.platform_base_url(),
                token=token.get_secret_value() if token else "",
                execution_id=execution_id,
                batch=batch,
            )

        outcome = await execute_plan(plan, execution.trigger_data, execution.started_at, send)
        if outcome.transient and not final_attempt:
            raise ReceiverUnavailable(outcome.error)
    async with runtime.sessionmaker() as session, session.begin():
        finished = await repository.finish_execution(
            session,
            execution_id,
            status=outcome.status,
            steps=outcome.steps,
            results=outcome.results,
            error=outcome.error,
        )
    logger.info("automation execution %s: %s", execution_id, outcome.status)
    return outcome.status if finished else None


async def abandon_execution(runtime: Runtime, execution_id: uuid.UUID, error: str) -> bool:
    """Mark a still-running execution `failed` with `error` (its job will not run again)."""
    async with runtime.sessionmaker() as session, session.begin():
        return await repository.finish_execution(
            session, execution_id, status="failed", steps=[], results=None, error=error
        )
