"""Starting flows for an event (`start_flows`) and running one execution (`run_execution`).
Tasks in `tasks.py` are thin shells around these; tests call them directly.

`start_flows` runs in the caller's transaction: the platform write's own, when the plugin is in
process (`intake.InProcessIntake`), or the webhook intake's. It inserts one execution per
active flow (unique per flow and event) and defers their `run_execution` jobs, each with its
tenant's fair priority (`jobs/deferral.fair_priority`): one tenant's sale never delays
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
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.definition import FlowDefinition
from bettercallsold.automation.engine import (
    Memory,
    Outcome,
    PreparedAction,
    RunOptions,
    Send,
    run_flow,
)
from bettercallsold.automation.errors import ReceiverUnavailable
from bettercallsold.automation.receiver_client import idempotency_key, send_batch
from bettercallsold.db.engine import read_session
from bettercallsold.jobs import queues
from bettercallsold.jobs.deferral import BACKLOG_CAP
from bettercallsold.ports import ActionReceiver, EventRecord, ExecutionRef
from bettercallsold.runtime import Runtime
from bettercallsold.types import JSON

logger = logging.getLogger(__name__)

RUN_EXECUTION_TASK = "automation:run_execution"
OUTSIDE_CALL_TASK = "automation:make_outside_call"
EXECUTIONS_QUEUE = queues.EXECUTIONS


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
        root_event_id=event.root_event_id,
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
    """Run the execution in one transaction, up to its end, a wait, or an outside call
    (`send_http_request`): that one is its own job (`make_outside_call`), deferred in this
    transaction, so the call is made after the commit and never inside a transaction."""
    passed = await _one_pass(runtime, receiver, execution_id)
    if passed is None:
        return None
    outcome, _ref = passed
    return outcome.status


async def make_outside_call(runtime: Runtime, execution_id: uuid.UUID) -> bool:
    """The outside call a running execution stopped at, made by the receiver with no
    transaction open; its answer is remembered and the execution's run job deferred, in one
    transaction. False when there is nothing to call (it ended, or a twin job did it). A crash
    during the call makes the job's retry call again, with the same `Idempotency-Key`."""
    receiver = runtime.ports.receiver
    if receiver is None:  # over HTTP the receiver makes such calls inline
        return False
    async with read_session(runtime.sessionmaker) as session:
        execution = await repository.get_execution(session, execution_id)
    if execution is None or execution.status != "running":
        return False
    calling = Memory.from_json(execution.state).calling
    if not calling:
        return False
    ref = ExecutionRef(
        execution.id, execution.tenant_id, execution.causation_depth, execution.root_event_id
    )
    call = PreparedAction(
        str(calling["step_id"]), str(calling["action_type"]), calling.get("payload")
    )
    result = await receiver.perform_outside(runtime, ref, call)
    remembered = {"step_id": call.step_id, **result, "payload": call.payload}
    async with runtime.sessionmaker() as session, session.begin():
        return await repository.remember_result(
            session, execution_id, call.step_id, remembered, EXECUTIONS_QUEUE, RUN_EXECUTION_TASK
        )


async def _one_pass(
    runtime: Runtime, receiver: ActionReceiver, execution_id: uuid.UUID
) -> tuple[Outcome, ExecutionRef] | None:
    async with runtime.sessionmaker() as session, session.begin():
        execution = await repository.claim_execution(session, execution_id)
        if execution is None:
            return None
        ref = ExecutionRef(
            execution.id, execution.tenant_id, execution.causation_depth, execution.root_event_id
        )

        async def send(batch: Sequence[PreparedAction]) -> list[JSON]:
            key = idempotency_key(execution_id, batch[0].step_id)
            return await receiver.perform(session, ref, key, batch)

        run = _Run(execution.definition, execution.trigger_data, execution.started_at)
        options = _options(runtime, clock=execution.clock, outside_inline=False)
        outcome = await run.outcome(send, Memory.from_json(execution.state), options)
        await _record(session, execution_id, outcome)
    return outcome, ref


async def _run_over_http(
    runtime: Runtime, execution_id: uuid.UUID, *, final_attempt: bool
) -> str | None:
    clock = datetime.now(UTC)
    async with read_session(runtime.sessionmaker) as session:
        execution = await repository.get_execution(session, execution_id)
    if execution is None or not _due(execution.status, execution.resume_at, clock):
        return None
    if execution.status == "waiting":  # the receiver takes batches of running executions only
        async with runtime.sessionmaker() as session, session.begin():
            if not await repository.wake_execution(session, execution_id):
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

    run = _Run(execution.definition, execution.trigger_data, execution.started_at)
    outcome = await run.outcome(send, Memory.from_json(execution.state), _options(runtime, clock))
    if outcome.transient and not final_attempt:
        raise ReceiverUnavailable(outcome.error)
    async with runtime.sessionmaker() as session, session.begin():
        finished = await _record(session, execution_id, outcome)
    return outcome.status if finished else None


def _due(status: str, resume_at: datetime | None, clock: datetime) -> bool:
    """Whether a run job has work: the execution runs, or its wait is over."""
    return status == "running" or (
        status == "waiting" and resume_at is not None and resume_at <= clock
    )


def _options(runtime: Runtime, clock: datetime, *, outside_inline: bool = True) -> RunOptions:
    return RunOptions(
        clock=clock,
        max_for_each_items=runtime.settings.max_for_each_items,
        outside_inline=outside_inline,
    )


class _Run:
    """One run of an execution: its stored definition on its trigger, from its start time."""

    def __init__(self, definition: JSON | None, trigger: JSON, started_at: datetime) -> None:
        self.definition = definition
        self.trigger = trigger
        self.started_at = started_at

    async def outcome(self, send: Send, memory: Memory, options: RunOptions) -> Outcome:
        try:
            flow = FlowDefinition.model_validate(self.definition or {"steps": []})
        except ValidationError as exc:
            return Outcome(status="failed", steps=[], results=[], error=f"invalid flow: {exc}")
        return await run_flow(
            flow, self.trigger, self.started_at, send, memory=memory, options=options
        )


async def _record(session: AsyncSession, execution_id: uuid.UUID, outcome: Outcome) -> bool:
    """The run's end, its wait (with the job that resumes it), or its progress up to an
    outside call; False if it had ended."""
    if outcome.status == "calling":
        progress = repository.Progress(
            steps=outcome.steps,
            results=outcome.results,
            state=outcome.memory.as_json(),
            queue=EXECUTIONS_QUEUE,
            task=OUTSIDE_CALL_TASK,
        )
        return await repository.record_progress(session, execution_id, progress)
    if outcome.status == "waiting" and outcome.resume_at is not None:
        suspension = repository.Suspension(
            steps=outcome.steps,
            results=outcome.results,
            state=outcome.memory.as_json(),
            resume_at=outcome.resume_at,
            queue=EXECUTIONS_QUEUE,
            task=RUN_EXECUTION_TASK,
        )
        recorded = await repository.suspend_execution(session, execution_id, suspension)
    else:
        recorded = await repository.finish_execution(
            session,
            execution_id,
            status=outcome.status,
            steps=outcome.steps,
            results=outcome.results,
            error=outcome.error,
        )
    logger.debug("automation execution %s: %s", execution_id, outcome.status)
    return recorded


async def abandon_execution(runtime: Runtime, execution_id: uuid.UUID, error: str) -> bool:
    """Mark a still-running execution `failed` with `error` (its job will not run again)."""
    async with runtime.sessionmaker() as session, session.begin():
        return await repository.finish_execution(
            session, execution_id, status="failed", steps=[], results=None, error=error
        )
