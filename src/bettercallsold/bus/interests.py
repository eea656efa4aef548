"""What an operator subscriber wants (`SubscriberInterest`), kept exact by the subscriber.

The automation plugin over HTTP wants, per tenant, the event types some active flow uses: not
the notification and task events no flow reads, which were 40% of the bus's work. A filter that
is stale in the wrong direction loses events, so a tenant's interests are replaced under a
transaction-scoped advisory lock on (subscriber, tenant), in the transaction that changes what
the subscriber wants: two concurrent flow saves of one tenant recompute one after the other,
the second seeing the first's committed flow. An event committed before the change is matched
against the interests before it, exactly as its flows are.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection, Iterable

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.models import SubscriberInterest

_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))")


async def replace_interests(
    session: AsyncSession,
    system_key: str,
    tenant_id: uuid.UUID,
    wanted: Callable[[], Awaitable[Collection[str]]],
) -> None:
    """Make the tenant's interests exactly `wanted()`, computed under the lock."""
    await session.execute(_LOCK, {"name": f"interests:{system_key}:{tenant_id}"})
    types = sorted(set(await wanted()))
    await session.execute(
        delete(SubscriberInterest).where(
            SubscriberInterest.system_key == system_key,
            SubscriberInterest.tenant_id == tenant_id,
            SubscriberInterest.event_type.not_in(types),
        )
    )
    await add_interests(session, system_key, [(tenant_id, event_type) for event_type in types])


async def add_interests(
    session: AsyncSession, system_key: str, pairs: Iterable[tuple[uuid.UUID, str]]
) -> None:
    """Declare (tenant, event type) interests, keeping the others: what a subscriber does at
    start for what it already wants (adding is never stale in the losing direction)."""
    rows = [
        {"system_key": system_key, "tenant_id": tenant_id, "event_type": event_type}
        for tenant_id, event_type in pairs
    ]
    if rows:
        await session.execute(insert(SubscriberInterest).values(rows).on_conflict_do_nothing())


async def interests_of(session: AsyncSession, system_key: str, tenant_id: uuid.UUID) -> set[str]:
    found = await session.scalars(
        select(SubscriberInterest.event_type).where(
            SubscriberInterest.system_key == system_key,
            SubscriberInterest.tenant_id == tenant_id,
        )
    )
    return set(found.all())
