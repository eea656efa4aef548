"""Every SQL statement of the receiver, on its own tables only.

An execution is the plugin's: the receiver asks its `ExecutionDirectory` port (`ports.py`),
never reads `automation_executions`. Times are the database's `now()`, so every process agrees
on leases and expiry.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.db.raw import driver_connection
from bettercallsold.ports import ActionRequest, ExecutionRef
from bettercallsold.receiver.models import AutomationEventLog, ReceiverIdempotencyKey
from bettercallsold.types import JSON

_Key = ReceiverIdempotencyKey
_Log = AutomationEventLog


_INSERT_LOG = """
    INSERT INTO automation_event_log (id, flow_execution_id, tenant_id, action_type, payload,
        result, success, step_id, created_at)
    VALUES (gen_random_uuid(), %(flow_execution_id)s, %(tenant_id)s, %(action_type)s,
        %(payload)s, %(result)s, %(success)s, %(step_id)s, clock_timestamp())
"""
"""`clock_timestamp()`, not the transaction's `now()`: a row says when its action ended, also
when an execution's rows are written together at the end of its one transaction."""


async def insert_event_logs(
    session: AsyncSession, execution: ExecutionRef, logged: Sequence[tuple[ActionRequest, JSON]]
) -> None:
    """One event-log row per (action, result), in order, in the session's transaction (straight
    to the driver, `db/raw.py`: every action of every execution writes one)."""
    rows = [
        {
            "flow_execution_id": execution.id,
            "tenant_id": execution.tenant_id,
            "action_type": action.action_type,
            "payload": Jsonb(action.payload),
            "result": Jsonb(result),
            "success": bool(result["success"]),
            "step_id": action.step_id,
        }
        for action, result in logged
    ]
    if rows:
        connection = await driver_connection(session)
        async with connection.cursor() as cursor:
            await cursor.executemany(_INSERT_LOG, rows)


async def event_logs(
    session: AsyncSession, tenant_id: uuid.UUID, execution_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[JSON]]:
    """The log rows of these executions, each execution's oldest first; one without rows is
    absent. One query for a whole page of executions (`ix_automation_event_log_execution`
    answers the `IN`), so the plugin's list costs the same as one detail.

    The plugin passes ids of the tenant's own executions; the `tenant_id` test repeats that
    scope here, as each row is stamped with its execution's tenant.
    """
    if not execution_ids:
        return {}
    rows = await session.execute(
        select(
            _Log.flow_execution_id,
            _Log.id,
            _Log.step_id,
            _Log.action_type,
            _Log.payload,
            _Log.result,
            _Log.success,
            _Log.created_at,
        )
        .where(_Log.flow_execution_id.in_(list(execution_ids)), _Log.tenant_id == tenant_id)
        .order_by(_Log.created_at, _Log.id)
    )
    grouped: dict[uuid.UUID, list[JSON]] = {}
    for row in rows:
        event = dict(row._mapping)
        grouped.setdefault(event.pop("flow_execution_id"), []).append(event)
    return grouped


# --- idempotency keys -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeyState:
    request_hash: str
    status: str
    results: list[JSON]
    in_flight: int | None
    response: JSON | None
    lease_expired: bool
    expired: bool


@dataclass(frozen=True, slots=True)
class KeyRef:
    tenant_id: uuid.UUID
    key: str


@dataclass(frozen=True, slots=True)
class NewHold:
    """A key as its first request writes it: held by `lease_token` for `lease`."""

    execution_id: uuid.UUID
    request_hash: str
    lease_token: uuid.UUID
    lease: timedelta
    ttl: timedelta
    in_flight: int | None = None

    def values(self) -> dict[str, Any]:
        return {
            "flow_execution_id": self.execution_id,
            "request_hash": self.request_hash,
            "status": "in_progress",
            "results": [],
            "in_flight": self.in_flight,
            "response": None,
            "lease_token": self.lease_token,
            "leased_until": func.now() + self.lease,
            "expires_at": func.now() + self.ttl,
        }


async def insert_key_if_absent(session: AsyncSession, ref: KeyRef, hold: NewHold) -> bool:
    """Insert the key, held by `hold`; False when the tenant already has this key."""
    statement = (
        insert(_Key)
        .values(tenant_id=ref.tenant_id, key=ref.key, **hold.values())
        .on_conflict_do_nothing(index_elements=[_Key.tenant_id, _Key.key])
        .returning(_Key.key)
    )
    return (await session.execute(statement)).first() is not None


async def lock_key(session: AsyncSession, ref: KeyRef) -> KeyState | None:
    """The key's state, row-locked until the end of the transaction."""
    row = (
        await session.execute(
            select(
                _Key.request_hash,
                _Key.status,
                _Key.results,
                _Key.in_flight,
                _Key.response,
                (func.coalesce(_Key.leased_until, func.now()) <= func.now()).label("lease_expired"),
                (_Key.expires_at <= func.now()).label("expired"),
            )
            .where(_Key.tenant_id == ref.tenant_id, _Key.key == ref.key)
            .with_for_update()
        )
    ).one_or_none()
    if row is None:
        return None
    return KeyState(
        request_hash=row.request_hash,
        status=row.status,
        results=list(row.results),
        in_flight=row.in_flight,
        response=row.response,
        lease_expired=bool(row.lease_expired),
        expired=bool(row.expired),
    )


async def restart_key(session: AsyncSession, ref: KeyRef, hold: NewHold) -> None:
    """Reuse an expired (not yet purged) key as if it were new."""
    await session.execute(
        update(_Key)
        .where(_Key.tenant_id == ref.tenant_id, _Key.key == ref.key)
        .values(created_at=func.now(), **hold.values())
    )


async def take_over_key(
    session: AsyncSession, ref: KeyRef, *, lease_token: uuid.UUID, lease: timedelta
) -> None:
    """Hold a key whose lease expired (its holder crashed or stalled)."""
    await session.execute(
        update(_Key)
        .where(_Key.tenant_id == ref.tenant_id, _Key.key == ref.key)
        .values(lease_token=lease_token, leased_until=func.now() + lease)
    )


async def save_progress(
    session: AsyncSession,
    ref: KeyRef,
    *,
    lease_token: uuid.UUID,
    lease: timedelta,
    results: list[JSON],
    in_flight: int | None,
) -> bool:
    """Store the results so far and the action under way, renewing the lease; False when the
    lease is no longer this request's (nothing is written then)."""
    statement = (
        update(_Key)
        .where(_Key.tenant_id == ref.tenant_id, _Key.key == ref.key)
        .where(_Key.lease_token == lease_token)
        .values(results=results, in_flight=in_flight, leased_until=func.now() + lease)
        .returning(_Key.key)
    )
    return (await session.execute(statement)).first() is not None


async def complete_key(
    session: AsyncSession, ref: KeyRef, *, lease_token: uuid.UUID, response: JSON
) -> bool:
    """Store the answer and release the lease; False when the lease is no longer ours."""
    statement = (
        update(_Key)
        .where(_Key.tenant_id == ref.tenant_id, _Key.key == ref.key)
        .where(_Key.lease_token == lease_token)
        .values(
            status="completed",
            response=response,
            results=response["results"],
            in_flight=None,
            lease_token=None,
            leased_until=None,
        )
        .returning(_Key.key)
    )
    return (await session.execute(statement)).first() is not None


async def release_key(session: AsyncSession, ref: KeyRef, *, lease_token: uuid.UUID) -> None:
    """Let another request take the key over at once (this one gave up on an error)."""
    await session.execute(
        update(_Key)
        .where(_Key.tenant_id == ref.tenant_id, _Key.key == ref.key)
        .where(_Key.lease_token == lease_token, _Key.status == "in_progress")
        .values(leased_until=func.now())
    )


async def delete_expired_keys(session: AsyncSession) -> int:
    """Delete keys past `expires_at`, except one a live request still holds."""
    result = await session.execute(
        delete(_Key)
        .where(_Key.expires_at < func.now())
        .where(or_(_Key.leased_until.is_(None), _Key.leased_until < func.now()))
        .returning(_Key.key)
    )
    return len(result.all())
