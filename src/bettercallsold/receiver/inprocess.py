"""The event receiver as a port (`ActionReceiver`), for a plugin in the same process.

The same catalogue, validation, results and event log as `POST /api/events/automation`, minus
what the HTTP path needs because its platform calls commit on their own: no idempotency key
row, no in-flight marks, no signed assertion, no commit per action. Here every action runs on
the caller's transaction, which also records the execution's end, so the batch is exactly
once by atomicity: a crash before the commit leaves nothing done and the execution's job runs
again; after it, the execution is no longer `running` and the job does nothing. Each action
still carries its action key (the platform's unique index on it is a second guard).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.catalogue import action_spec, validate_payload
from bettercallsold.ports import (
    ActionRequest,
    ExecutionRef,
    PlatformCall,
    PlatformOperations,
)
from bettercallsold.receiver import action_budget, outside, repository, results
from bettercallsold.receiver.fingerprint import action_key
from bettercallsold.runtime import Runtime
from bettercallsold.types import JSON, TenantContext


class InProcessReceiver:
    """`ActionReceiver` calling the platform through its in-process port."""

    def __init__(self, platform: PlatformOperations, max_actions_per_event: int) -> None:
        self._platform = platform
        self._max_actions = max_actions_per_event

    async def perform(
        self,
        session: AsyncSession,
        execution: ExecutionRef,
        batch_key: str,
        actions: Sequence[ActionRequest],
    ) -> list[JSON]:
        limit = self._max_actions
        granted = await action_budget.take(
            session, execution.tenant_id, execution.root_event_id, len(actions), limit
        )
        done = [
            await self._one(session, execution, batch_key, position, action)
            if position < granted
            else action_budget.refused(action.action_type, execution.root_event_id, limit)
            for position, action in enumerate(actions)
        ]
        await repository.insert_event_logs(
            session, execution, list(zip(actions, done, strict=True))
        )
        return done

    async def perform_outside(
        self, runtime: Runtime, execution: ExecutionRef, action: ActionRequest
    ) -> JSON:
        async with runtime.sessionmaker() as session, session.begin():
            granted = await action_budget.take(
                session, execution.tenant_id, execution.root_event_id, 1, self._max_actions
            )
        spec = action_spec(action.action_type)
        problem = validate_payload(spec, action.payload) if spec is not None else None
        if not granted:
            result = action_budget.refused(
                action.action_type, execution.root_event_id, self._max_actions
            )
        elif spec is None or not spec.outside:
            result = results.unknown_action(action.action_type)
        elif problem is not None:
            result = results.invalid_payload(action.action_type, problem)
        else:
            result = await outside.perform(
                runtime.http, outside.guard(runtime), execution.id, action.step_id, action.payload
            )
        async with runtime.sessionmaker() as session, session.begin():
            await repository.insert_event_logs(session, execution, [(action, result)])
        return result

    async def _one(
        self,
        session: AsyncSession,
        execution: ExecutionRef,
        batch_key: str,
        position: int,
        action: ActionRequest,
    ) -> JSON:
        spec = action_spec(action.action_type)
        if spec is None:
            return results.unknown_action(action.action_type)
        if spec.outside:  # the engine sends these to `perform_outside`, after its commit
            return {
                "action_type": action.action_type,
                "success": False,
                "error": f"{action.action_type} is never performed inside a transaction",
            }
        payload: Any = action.payload
        problem = validate_payload(spec, payload)
        if problem is not None:
            return results.invalid_payload(action.action_type, problem)
        context = TenantContext(
            tenant_id=execution.tenant_id,
            causation=execution.causation(),
            action_key=action_key(execution.id, batch_key, position),
        )
        call = PlatformCall(
            method=spec.method,
            path=spec.path,
            resource_id=str(payload["id"]) if spec.uses_id else None,
            body=spec.request_body(payload),
        )
        answer = await self._platform.call(session, context, call)
        return results.from_answer(
            action.action_type,
            spec.method,
            spec.request_path(payload),
            answer.status,
            answer.body,
            payload,
            spec.uses_id,
        )
