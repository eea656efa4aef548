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
from bettercallsold.receiver import repository, results
from bettercallsold.receiver.fingerprint import action_key
from bettercallsold.types import JSON, Causation, TenantContext


class InProcessReceiver:
    """`ActionReceiver` calling the platform through its in-process port."""

    def __init__(self, platform: PlatformOperations) -> None:
        self._platform = platform

    async def perform(
        self,
        session: AsyncSession,
        execution: ExecutionRef,
        batch_key: str,
        actions: Sequence[ActionRequest],
    ) -> list[JSON]:
        done = [
            await self._one(session, execution, batch_key, position, action)
            for position, action in enumerate(actions)
        ]
        await repository.insert_event_logs(
            session, execution, list(zip(actions, done, strict=True))
        )
        return done

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
        payload: Any = action.payload
        problem = validate_payload(spec, payload)
        if problem is not None:
            return results.invalid_payload(action.action_type, problem)
        context = TenantContext(
            tenant_id=execution.tenant_id,
            causation=Causation(
                flow_execution_id=execution.id, depth=execution.causation_depth + 1
            ),
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
