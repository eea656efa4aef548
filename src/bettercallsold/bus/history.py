"""The tenant's stored platform events, read back: the bus's `EventHistory` port (`ports.py`)
and its HTTP face, `GET /api/events`.

The outbox (`platform_events`) keeps every event `retention_days`; the automation plugin's
replay dry-runs a flow on them. The plugin may not read the bus's tables, so it asks here:
through `InProcessEventHistory` when the parts share a process, over `GET /api/events` with a
service assertion for the tenant otherwise. Both answer the same records.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.models import PlatformEvent
from bettercallsold.ports import StoredEvent

MAX_EVENTS = 500
"""The most events one read answers (a replay's largest `limit`)."""


async def recent_events(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    event_type: str,
    *,
    limit: int,
    since: datetime | None = None,
) -> list[StoredEvent]:
    """Up to `limit` (at most `MAX_EVENTS`) of the tenant's events of `event_type`, newest
    first, those that occurred at or after `since` when given. Walks the tenant's events
    newest first (`ix_platform_events_tenant_occurred`) and stops at `limit` matches: bounded
    by what retention keeps, with no index of its own on the write path."""
    statement = select(
        PlatformEvent.id, PlatformEvent.event_type, PlatformEvent.occurred_at, PlatformEvent.payload
    ).where(PlatformEvent.tenant_id == tenant_id, PlatformEvent.event_type == event_type)
    if since is not None:
        statement = statement.where(PlatformEvent.occurred_at >= since)
    statement = statement.order_by(PlatformEvent.occurred_at.desc(), PlatformEvent.id.desc())
    rows = await session.execute(statement.limit(min(limit, MAX_EVENTS)))
    return [StoredEvent(*row) for row in rows]


class InProcessEventHistory:
    """The `EventHistory` port in process: a read in the caller's session."""

    async def recent(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        event_type: str,
        *,
        limit: int,
        since: datetime | None = None,
    ) -> list[StoredEvent]:
        return await recent_events(session, tenant_id, event_type, limit=limit, since=since)


class StoredEventOut(BaseModel):
    event_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any] = Field(description="the event's payload, as delivered")


class StoredEventList(BaseModel):
    items: list[StoredEventOut] = Field(
        description="newest first; a window, not a paged list: narrow it with `since`"
    )


def as_list(events: list[StoredEvent]) -> StoredEventList:
    return StoredEventList(
        items=[
            StoredEventOut(
                event_id=event.event_id,
                event_type=event.event_type,
                occurred_at=event.occurred_at,
                payload=event.payload,
            )
            for event in events
        ]
    )
