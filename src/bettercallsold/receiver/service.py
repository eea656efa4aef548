"""Receiving an action batch: the use case behind `POST /api/events/automation`.

Why this use case commits as it goes instead of once per request: each action's effect is
committed by the platform in its own transaction (it is another HTTP request), so a single
receiver transaction could only lie. Were it rolled back (a crash, a lost connection), the log
and the idempotency record would forget effects that did happen, and a retry would do them
again. So each step is its own short, committed transaction:

1. the idempotency key is claimed (`idempotency.acquire`);
2. before an action's platform call, its position is recorded as *in flight*;
3. after it, its event-log row and the results so far are committed together;
4. at the end the answer is stored and the key released.

To keep commits few, 2 rides with the commit before it (the claim for the first action, the
previous action's 3 for the others) and 4 with the last action's 3: a batch of n actions costs
n + 1 commits, not 3n + 2. The order on disk is unchanged: an action is marked in flight,
durably, before its call starts, and its log row is committed after it.

A retry with the same key (after a crash, or a holder's lease ran out) replays the answer when
there is one; otherwise it keeps the results recorded in 3 without running those actions again,
and runs the action that was in flight again: it may or may not have happened, so each call is
signed with the action's own key (`fingerprint.action_key`: execution, batch key, position),
and the platform performs a keyed write once, answering a repeat with the first write's
resource (`bus/outbox.py`). A side effect happens exactly once, even when the process running
the batch is killed during the call. Actions without a platform call (an unknown type, a bad
payload) have no side effect and need no in-flight mark.

No connection is held across a platform call: with the platform in-process, its requests need
connections from the same pool, and a waiting duplicate must not starve them.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bettercallsold.catalogue import action_spec, validate_payload
from bettercallsold.db.engine import read_session
from bettercallsold.errors import BCSError
from bettercallsold.ports import ExecutionRef
from bettercallsold.receiver import (
    action_budget,
    idempotency,
    outside,
    platform_client,
    repository,
    results,
)
from bettercallsold.receiver.errors import (
    ExecutionNotFound,
    ExecutionNotRunning,
    IdempotencyLeaseLost,
)
from bettercallsold.receiver.fingerprint import action_key, request_fingerprint
from bettercallsold.receiver.idempotency import KeyRequest, Lease, Replay
from bettercallsold.receiver.platform_client import PlatformTarget
from bettercallsold.receiver.repository import KeyRef
from bettercallsold.receiver.schemas import ActionBatch, ActionEvent
from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import assertion_signer
from bettercallsold.types import JSON, TenantContext


async def receive_batch(runtime: Runtime, batch: ActionBatch, idempotency_key: str | None) -> JSON:
    """Run the batch's actions in order for the execution's tenant; `{"results": [...]}`.

    Raises `ExecutionNotFound` (404), `ExecutionNotRunning` (409); with a key,
    `IdempotencyKeyReused` (422) or
    `IdempotencyKeyInUse` / `IdempotencyLeaseLost` (409). An action's failure is a result,
    never an error: the others still run.
    """
    sessionmaker = runtime.sessionmaker
    directory = runtime.ports.executions
    assert directory is not None, "wiring.py plugs the plugin's directory in every mode"
    async with read_session(sessionmaker) as session:
        found = await directory.find(session, batch.flow_execution_id)
    if found is None:
        raise ExecutionNotFound()
    execution, status = found
    if status != "running":
        raise ExecutionNotRunning(f"the flow execution is {status}: it takes no more actions")
    if idempotency_key is None:
        return {"results": await _run_actions(runtime, execution, batch.events, None)}

    claim = await idempotency.acquire(
        sessionmaker,
        KeyRequest(
            ref=KeyRef(tenant_id=execution.tenant_id, key=idempotency_key),
            execution_id=execution.id,
            fingerprint=request_fingerprint(batch.model_dump(mode="json")),
            lease=_call_timeout(runtime) + idempotency.LEASE_MARGIN,
            wait_seconds=runtime.settings.receiver_timeout_seconds,
            in_flight=0 if batch.events and _calls_platform(batch.events[0]) else None,
        ),
    )
    if isinstance(claim, Replay):
        return claim.response
    try:
        done = await _run_actions(runtime, execution, batch.events, claim)
        response: JSON = {"results": done}
        if not claim.completed:  # nothing was left to run: complete the key on its own
            async with sessionmaker() as session, session.begin():
                await idempotency.complete(session, claim, response)
    except Exception:
        # Let the next request with this key take over now rather than after the lease.
        async with sessionmaker() as session, session.begin():
            await idempotency.release(session, claim)
        raise
    return response


def _calls_platform(event: ActionEvent) -> bool:
    """Whether the action will call the platform (a known type with a valid payload)."""
    spec = action_spec(event.action_type)
    return spec is not None and validate_payload(spec, event.payload) is None


async def _run_actions(
    runtime: Runtime, execution: ExecutionRef, events: list[ActionEvent], lease: Lease | None
) -> list[JSON]:
    done = list(lease.results) if lease is not None else []
    limit = runtime.settings.max_actions_per_event
    async with runtime.sessionmaker() as session, session.begin():
        granted = len(done) + await action_budget.take(
            session, execution.tenant_id, execution.root_event_id, len(events) - len(done), limit
        )
    for position, event in enumerate(events):
        if position < len(done):
            continue  # recorded by an earlier attempt with this key
        if position >= granted:
            result = action_budget.refused(event.action_type, execution.root_event_id, limit)
        else:
            result = await _perform(runtime, execution, event, lease, done)
        done.append(result)
        following = position + 1
        last = following == len(events)
        mark = None if last or not _calls_platform(events[following]) else following
        await _record(runtime.sessionmaker, execution, event, result, lease, done, mark, last)
    return done


async def _perform(
    runtime: Runtime,
    execution: ExecutionRef,
    event: ActionEvent,
    lease: Lease | None,
    done: list[JSON],
) -> JSON:
    spec = action_spec(event.action_type)
    if spec is None:
        return results.unknown_action(event.action_type)
    problem = validate_payload(spec, event.payload)
    if problem is not None:
        return results.invalid_payload(event.action_type, problem)
    if spec.outside:
        # Without a step id (a batch posted by hand), the key still names this one action: by
        # its batch key and position when the batch has one, else it is new for every call.
        step_key = event.step_id or (
            action_key(execution.id, lease.ref.key, len(done))
            if lease is not None
            else f"unkeyed-{uuid.uuid4().hex}"
        )
        return await outside.perform(
            runtime.http, outside.guard(runtime), execution.id, step_key, event.payload
        )
    if lease is not None and lease.marked != len(done):
        async with runtime.sessionmaker() as session, session.begin():
            held = await idempotency.save_progress(session, lease, done, in_flight=len(done))
        if not held:
            raise IdempotencyLeaseLost()
    key = None if lease is None else action_key(execution.id, lease.ref.key, len(done))
    return await platform_client.perform(
        _target(runtime, execution, key), event.action_type, spec, event.payload
    )


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    execution: ExecutionRef,
    event: ActionEvent,
    result: JSON,
    lease: Lease | None,
    done: list[JSON],
    mark: int | None,
    last: bool,
) -> None:
    """The action's event-log row and the results so far, committed together, with the next
    action marked in flight (`mark`), or, after the `last` action, the answer stored."""
    held = True
    async with sessionmaker() as session, session.begin():
        await repository.insert_event_logs(session, execution, [(event, result)])
        if lease is not None:
            if last:
                held = await idempotency.try_complete(session, lease, {"results": done})
                lease.completed = held
            else:
                held = await idempotency.save_progress(session, lease, done, in_flight=mark)
                lease.marked = mark if held else None
    # The log row is kept even then: the action did happen.
    if not held:
        raise IdempotencyLeaseLost()


def _target(runtime: Runtime, execution: ExecutionRef, key: str | None) -> PlatformTarget:
    """The platform, as the execution's tenant: a service assertion signed per HTTP call (it
    is short-lived, single-use and bound to the call's method and path), carrying the
    causation the platform stamps on the events it emits and the action's `key` (a batch
    without an `Idempotency-Key` has none)."""
    settings = runtime.settings
    if settings.secret_key is None:
        raise BCSError("the secret key is not configured")
    context = TenantContext(
        tenant_id=execution.tenant_id,
        causation=execution.causation(),
        action_key=key,
    )
    return PlatformTarget(
        http=runtime.http,
        base_url=settings.platform_base_url(),
        credential_for=assertion_signer(settings.secret_key.get_secret_value(), context),
        timeout_seconds=_call_timeout(runtime).total_seconds(),
        attempts=1 if key is None else _KEYED_ATTEMPTS,
    )


_KEYED_ATTEMPTS = 3
"""A keyed action is safe to send again: a platform blip (a 5xx, a dropped connection) is
tried again within the call's timeout instead of failing the action."""


def _call_timeout(runtime: Runtime) -> timedelta:
    return timedelta(seconds=runtime.settings.receiver_timeout_seconds)
