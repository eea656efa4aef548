"""Starting flows for an event (`start_flows`) and running one execution (`run_execution`).
Tasks in `tasks.py` are thin shells around these; tests call them directly.

`start_flows` runs in the caller's transaction: the platform write's own, when the plugin is in
process (`intake.InProcessIntake`), or the webhook intake's. It inserts one execution per
active flow (unique per flow and event) and defers their `run_execution` jobs, each with its
tenant's fair priority (`db/deferral.fair_priority`): one tenant's sale never delays
another's flows, and each tenant's executions start in the order its events happened.

`run_execution` has two paths. With the event receiver in process (`runtime.ports.receiver`),
the execution is claimed (row-locked while `running`), its actions performed and logged and
its end recorded in one transaction: exactly once by atomicity, whatever crashes. Over HTTP it
renders exactly the same batches on every attempt (the execution keeps the flow's definition,
the trigger, and its start time as `now`), so a retried or duplicated run sends the same
`Idempotency-Key`s with the same bodies and the receiver repeats nothing.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.definition import FlowDefinition
from bettercallsold.automation.engine import Outcome, PreparedAction, Send, execute_plan, plan_flow
from bettercallsold.automation.errors import ReceiverUnavailable
from bettercallsold.automation.receiver_client import idempotency_key, send_batch
from bettercallsold.db.deferral import BACKLOG_CAP
from bettercallsold.db.engine import read_session
from bettercallsold.ports import ActionReceiver, EventRecord, ExecutionRef
from bettercallsold.runtime import Runtime
from bettercallsold.types import JSON

logger = logging.getLogger(__name__)

RUN_EXECUTION_TASK = "automation:run_execution"
EXECUTIONS_QUEUE = "executions"


async def start_flows(session: AsyncSession, event: EventRecord, max_depth: int) -> list[uuid.UUID]:
    """In the caller's transaction: one execution per active flow of the event's tenant and type
    (unique per flow and event), and their `run_execution` jobs; the new executions' ids. One
    statement (`repository.start_executions`): an event no flow wants costs its index lookup.

    An event deeper than `max_depth` starts nothing: each flow it would have started gets a
    `failed` execution naming the depth limit instead, so a loop is visible. No flow, no job.
    """
    request = repository.StartRequest(
        tenant_id=event.tenant_id,
        event_type=event.event_type,
        event_id=event.event_id,
        payload=event.payload,
        causation_depth=event.causation_depth,
        refused=_depth_refusal(event, max_depth) if event.causation_depth > max_depth else None,
        queue=EXECUTIONS_QUEUE,
        task=RUN_EXECUTION_TASK,
        cap=BACKLOG_CAP,
    )
    return await repository.start_executions(session, request)


def _depth_refusal(event: EventRecord, max_depth: int) -> str:
    cause = (
        f"caused by execution {event.causation_execution_id}"
        if event.causation_execution_id
        else "caused by an automation"
    )
    return (
        f"depth limit {max_depth} exceeded: event {event.event_id} ({event.event_type}) has "
        f"causation depth {event.causation_depth}, {cause}; the flow was not started "
        "(a loop of flows triggering each other?)"
    )


async def run_execution(
    runtime: Runtime, execution_id: uuid.UUID, *, final_attempt: bool = True
) -> str | None:
    """Run one execution to its end; its final status (None when it had already ended).

    Over HTTP, raises `ReceiverUnavailable` (the job is retried with the same keys) unless this
    is the final attempt, which records the execution as `failed` instead.
    """
    receiver = runtime.ports.receiver
    if receiver is not None:
        return await _run_in_process(runtime, receiver, execution_id)
    return await _run_over_http(runtime, execution_id, final_attempt=final_attempt)


async def _run_in_process(
    runtime: Runtime, receiver: ActionReceiver, execution_id: uuid.UUID
) -> str | None:
    async with runtime.sessionmaker() as session, session.begin():
        execution = await repository.claim_execution(session, execution_id)
        if execution is None:
            return None
        ref = ExecutionRef(execution.id, execution.tenant_id, execution.causation_depth)

        async def send(batch: Sequence[PreparedAction]) -> list[JSON]:
            key = idempotency_key(execution_id, batch[0].step_id)
            return await receiver.perform(session, ref, key, batch)

        outcome = await _outcome(
            execution.definition, execution.trigger_data, execution.started_at, send
        )
        await _finish(session, execution_id, outcome)
    return outcome.status


async def _run_over_http(
    runtime: Runtime, execution_id: uuid.UUID, *, final_attempt: bool
) -> str | None:
    async with read_session(runtime.sessionmaker) as session:
        execution = await repository.get_execution(session, execution_id)
    if execution is None or execution.status != "running":
        return None

    async def send(batch: Sequence[PreparedAction]) -> list[JSON]:
        token = runtime.settings.internal_api_token
        return await send_batch(
            runtime.http,
            base_url=runtime.settings.platform_base_url(),
            token=token.get_secret_value() if token else "",
            execution_id=execution_id,
            batch=batch,
        )

    outcome = await _outcome(
        execution.definition, execution.trigger_data, execution.started_at, send
    )
    if outcome.transient and not final_attempt:
        raise ReceiverUnavailable(outcome.error)
    async with runtime.sessionmaker() as session, session.begin():
        finished = await _finish(session, execution_id, outcome)
    return outcome.status if finished else None


async def _outcome(
    definition: JSON | None, trigger: JSON, started_at: datetime, send: Send
) -> Outcome:
    try:
        flow = FlowDefinition.model_validate(definition or {"steps": []})
    except ValidationError as exc:
        return Outcome(status="failed", steps=[], results=[], error=f"invalid flow: {exc}")
    return await execute_plan(plan_flow(flow, trigger), trigger, started_at, send)


async def _finish(session: AsyncSession, execution_id: uuid.UUID, outcome: Outcome) -> bool:
    finished = await repository.finish_execution(
        session,
        execution_id,
        status=outcome.status,
        steps=outcome.steps,
        results=outcome.results,
        error=outcome.error,
    )
    logger.debug("automation execution %s: %s", execution_id, outcome.status)
    return finished


async def abandon_execution(runtime: Runtime, execution_id: uuid.UUID, error: str) -> bool:
    """Mark a still-running execution `failed` with `error` (its job will not run again)."""
    async with runtime.sessionmaker() as session, session.begin():
        return await repository.finish_execution(
            session, execution_id, status="failed", steps=[], results=None, error=error
        )
