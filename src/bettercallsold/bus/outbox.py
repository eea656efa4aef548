"""Recording platform events in the caller's transaction (the transactional outbox).

A platform service calls `record_event` after flushing its change; the event row, its
deliveries and their procrastinate jobs commit or roll back with it, so a committed write
always leads to its deliveries and a failed one never does. The jobs' insert trigger NOTIFYs
the workers at commit, so an idle worker starts delivering at once.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.dispatch import fan_out
from bettercallsold.bus.models import PlatformEvent
from bettercallsold.types import TenantContext, utcnow

EVENT_TYPES = (
    "customer.created",
    "customer.updated",
    "product.created",
    "product.updated",
    "product.deleted",
    "order.created",
    "order.status_changed",
    "notification.sent",
    "task.created",
    "task.assigned",
)


def new_event_id() -> str:
    return "evt_" + uuid.uuid4().hex


async def record_event(
    session: AsyncSession, context: TenantContext, event_type: str, payload: dict[str, Any]
) -> PlatformEvent:
    assert event_type in EVENT_TYPES, event_type
    event = PlatformEvent(
        id=new_event_id(),
        tenant_id=context.tenant_id,
        event_type=event_type,
        payload=payload,
        causation_execution_id=context.causation.flow_execution_id,
        causation_depth=context.causation.depth,
        occurred_at=utcnow(),
    )
    session.add(event)
    await session.flush()
    await fan_out(session, event)
    return event
