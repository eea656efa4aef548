"""`Idempotency-Key` for action batches, as Stripe and the IETF draft describe it.

A key belongs to one tenant (the execution's): another tenant using the same string has its own
key and can never read this one's answer. The first request with a key inserts its row
(`INSERT ... ON CONFLICT DO NOTHING`, committed at once) and holds it by a lease; a duplicate
that arrives meanwhile finds the row held and waits, polling without holding a connection,
until the answer is stored (then it replays it) or its wait runs out (409). A body differing
from the first one is a 422. A holder that crashed leaves a lease that expires (one platform
call's timeout plus `LEASE_MARGIN` after its last step), and the next request with the key
takes over where it stopped (see `service.py`).

Keys are kept `KEY_TTL` (7 days, longer than any retry schedule of the plugin), then
`purge_expired_keys` deletes them.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bettercallsold.receiver import repository
from bettercallsold.receiver.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    IdempotencyLeaseLost,
)
from bettercallsold.receiver.repository import KeyRef, NewHold
from bettercallsold.types import JSON

KEY_TTL = timedelta(days=7)
LEASE_MARGIN = timedelta(seconds=60)
"""A lease lasts one platform call's timeout plus this, and is renewed at every action."""
_FIRST_POLL_SECONDS = 0.02
_MAX_POLL_SECONDS = 0.5


@dataclass
class Lease:
    """This request holds the key: run the batch from `len(results)` on."""

    ref: KeyRef
    token: uuid.UUID
    duration: timedelta
    results: list[JSON] = field(default_factory=list)
    """Results an earlier attempt recorded, one per action from the first."""
    in_flight: int | None = None
    """The action an earlier attempt was running when it stopped (never run again)."""
    marked: int | None = None
    """The action this request has already recorded as in flight (no need to mark it again)."""
    completed: bool = False
    """The answer is stored and the key released."""


@dataclass(frozen=True)
class Replay:
    """The key's request is done: answer with its stored response."""

    response: JSON


@dataclass(frozen=True)
class KeyRequest:
    ref: KeyRef
    execution_id: uuid.UUID
    fingerprint: str
    lease: timedelta
    wait_seconds: float
    in_flight: int | None = None
    """The action to record as in flight with a fresh claim (the first, when it calls the
    platform), saving a commit; not applied when the key is taken over."""


async def acquire(
    sessionmaker: async_sessionmaker[AsyncSession], request: KeyRequest
) -> Lease | Replay:
    """Hold the key or get its stored answer, waiting while another request holds it.

    Raises `IdempotencyKeyReused` (422) for another body, `IdempotencyKeyInUse` (409) when the
    holder is still at work after `wait_seconds`.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + request.wait_seconds
    delay = _FIRST_POLL_SECONDS
    while True:
        async with sessionmaker() as session, session.begin():
            claimed = await _try_claim(session, request)
        if claimed is not None:
            return claimed
        if loop.time() + delay > deadline:
            raise IdempotencyKeyInUse()
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_POLL_SECONDS)


async def _try_claim(session: AsyncSession, request: KeyRequest) -> Lease | Replay | None:
    token = uuid.uuid4()
    fresh = Lease(ref=request.ref, token=token, duration=request.lease, marked=request.in_flight)
    hold = NewHold(
        execution_id=request.execution_id,
        request_hash=request.fingerprint,
        lease_token=token,
        lease=request.lease,
        ttl=KEY_TTL,
        in_flight=request.in_flight,
    )
    if await repository.insert_key_if_absent(session, request.ref, hold):
        return fresh
    state = await repository.lock_key(session, request.ref)
    if state is None:
        return None  # purged between the two statements: try again
    if state.expired:
        await repository.restart_key(session, request.ref, hold)
        return fresh
    if state.request_hash != request.fingerprint:
        raise IdempotencyKeyReused()
    if state.status == "completed" and state.response is not None:
        return Replay(state.response)
    if not state.lease_expired:
        return None  # another request is at work on it
    await repository.take_over_key(session, request.ref, lease_token=token, lease=request.lease)
    fresh.results = state.results
    fresh.in_flight = state.in_flight
    fresh.marked = None
    return fresh


async def save_progress(
    session: AsyncSession, lease: Lease, results: list[JSON], in_flight: int | None
) -> bool:
    """Record the results so far (and the action about to run) in the caller's transaction,
    renewing the lease; False when another request took the key over (nothing is written)."""
    return await repository.save_progress(
        session,
        lease.ref,
        lease_token=lease.token,
        lease=lease.duration,
        results=results,
        in_flight=in_flight,
    )


async def complete(session: AsyncSession, lease: Lease, response: JSON) -> None:
    if not await try_complete(session, lease, response):
        raise IdempotencyLeaseLost()


async def try_complete(session: AsyncSession, lease: Lease, response: JSON) -> bool:
    """Store the answer and release the key in the caller's transaction; False (nothing
    written) when another request took the key over."""
    return await repository.complete_key(
        session, lease.ref, lease_token=lease.token, response=response
    )


async def release(session: AsyncSession, lease: Lease) -> None:
    await repository.release_key(session, lease.ref, lease_token=lease.token)


async def purge_expired_keys(session: AsyncSession) -> int:
    """Delete the keys older than `KEY_TTL` (in the caller's transaction); how many went."""
    return await repository.delete_expired_keys(session)
