"""Fan-out: an event becomes one delivery per matching subscription, each with its job deferred
in the caller's transaction (committed together with the write, or rolled back with it).

Per-tenant fairness comes from procrastinate's job priority. A worker takes the highest
priority first, and among equals the oldest, so plain FIFO would make tenant B's one event wait
behind tenant A's burst of 300. Instead each delivery job gets the priority `-n`, where `n` is
how many of its tenant's deliveries already wait for a first attempt: the k-th waiting delivery
of every tenant has the same priority, so workers serve tenants round-robin, and a quiet
tenant's event (n = 0) goes ahead of everything a busy tenant has queued.

Alternatives weighed: a procrastinate `lock` per tenant serialises that tenant completely (one
delivery in flight) and procrastinate's fetch query slows down behind long lock queues; a
per-tenant in-flight cap needs a counter that every worker updates. Priorities cost one indexed
count per event and leave the fetching to procrastinate's own query. Counting stops at
`BACKLOG_CAP`, which bounds that count's cost on the write path: beyond that depth busy tenants
share FIFO among themselves, and quiet ones still go first. Priority is global across queues,
so other features' jobs (priority 0) run before a busy tenant's backlog of deliveries.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus import repository
from bettercallsold.jobs import queues
from bettercallsold.jobs.deferral import BACKLOG_CAP, JobToDefer, defer_jobs, fair_priority
from bettercallsold.ports import EventRecord

DELIVER_TASK = "bus:deliver"
DELIVERIES_QUEUE = queues.DELIVERIES


def delivery_job(
    delivery_id: uuid.UUID,
    version: int,
    *,
    priority: int,
    scheduled_at: datetime | None = None,
) -> JobToDefer:
    return JobToDefer(
        task_name=DELIVER_TASK,
        args={"delivery_id": str(delivery_id), "version": version},
        queue=DELIVERIES_QUEUE,
        priority=priority,
        scheduled_at=scheduled_at,
    )


async def fan_out(
    session: AsyncSession, event: EventRecord, subscription_ids: list[uuid.UUID], waiting: int
) -> list[uuid.UUID]:
    """Create the event's deliveries to `subscription_ids` (matched as it was recorded,
    `outbox.py`) and defer their jobs; returns the delivery ids. `waiting`: the tenant's
    deliveries already waiting, for their fair priority."""
    if not subscription_ids:
        return []
    delivery_ids = [uuid.uuid4() for _ in subscription_ids]
    rows = [
        {
            "id": delivery_id,
            "tenant_id": event.tenant_id,
            "subscription_id": subscription_id,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "status": "pending",
            "attempt_count": 0,
            "cycle_attempts": 0,
            "version": 1,
            "next_attempt_at": event.occurred_at,
        }
        for delivery_id, subscription_id in zip(delivery_ids, subscription_ids, strict=True)
    ]
    await repository.insert_deliveries(session, rows)
    jobs = [
        delivery_job(delivery_id, 1, priority=fair_priority(waiting + index))
        for index, delivery_id in enumerate(delivery_ids)
    ]
    await defer_jobs(session, jobs)
    return delivery_ids


async def schedule(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    version: int,
    *,
    at: datetime | None = None,
) -> None:
    """Defer one job for an existing delivery (a retry, or a redelivery), fairly prioritised."""
    waiting = await repository.pending_backlog(session, tenant_id, BACKLOG_CAP)
    job = delivery_job(delivery_id, version, priority=fair_priority(waiting), scheduled_at=at)
    await defer_jobs(session, [job])
