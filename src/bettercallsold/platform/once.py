"""Flow actions performed once: a repeated action is a result, `Replayed`, not an error.

The event receiver signs each action's platform call with the action's key
(`TenantContext.action_key`) and may repeat it after a crash, not knowing whether the first
call went through. `perform_once` wraps every keyed write, over HTTP (the routes) and in process
(`operations.py`):

- a repeat of a committed write is answered before any work (no second provider call, no
  update that would now fail, a delete that would now 404) with the first write's resource;
- a repeat racing the first is caught when its event meets the first one's under the outbox's
  unique index (`bus.outbox.record_event` notes it on the session instead of recording): its
  savepoint is rolled back, and the answer is the first write's resource too.

The routes answer a `Replayed` with 200, the resource and `Idempotent-Replayed: true`, as
Stripe replays an idempotent request; the in-process port answers the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.outbox import KeyedWrite, performed_action
from bettercallsold.types import TenantContext

T = TypeVar("T")
REPLAYED_HEADERS = {"Idempotent-Replayed": "true"}


@dataclass(frozen=True, slots=True)
class Replayed:
    """The action was already performed: `resource` is what its first write recorded."""

    resource: dict[str, Any]


async def perform_once(
    session: AsyncSession,
    context: TenantContext,
    write: Callable[[], Awaitable[T]],
    *,
    look_for_committed: bool = True,
) -> T | Replayed:
    """`write()`'s result, or `Replayed` when the caller's action key was already used.

    `look_for_committed=False` skips the look-up of an earlier committed write: the in-process
    port runs each action in its execution's transaction, claimed once, so no earlier attempt
    of it can have committed (a racing one is still caught by the outbox)."""
    if context.action_key is None:
        return await write()
    if look_for_committed:
        found = await performed_action(session, context.tenant_id, context.action_key)
        if found is not None:
            return Replayed(found)
    savepoint = await session.begin_nested()
    try:
        with KeyedWrite(session) as keyed:
            result = await write()
    except BaseException:
        await savepoint.rollback()
        raise
    if keyed.repeated is not None:
        await savepoint.rollback()
        return Replayed(keyed.repeated)
    await savepoint.commit()
    return result


def answered(done: T | Replayed) -> T | JSONResponse:
    """What a route answers: its resource, or the first write's for a repeated action."""
    if isinstance(done, Replayed):
        return JSONResponse(done.resource, status_code=200, headers=REPLAYED_HEADERS)
    return done
