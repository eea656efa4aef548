"""Every SQL statement of the bus. Functions flush at most; the caller owns the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Text,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.models import (
    PlatformEvent,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
)
from bettercallsold.db.raw import driver_connection
from bettercallsold.http.pagination import PageRequest, page_of, paginate
from bettercallsold.ports import EventRecord

# ---- fan-out -------------------------------------------------------------------------------
# On every platform write: statements built once, run as Core on the session's connection.

_WAITING = select(func.count()).select_from(
    select(WebhookDelivery.id)
    .where(
        WebhookDelivery.tenant_id == bindparam("tenant_id"),
        WebhookDelivery.status == "pending",
    )
    .limit(bindparam("cap", type_=Integer))
    .subquery()
)


_RECORD_AND_MATCH = """
    WITH inserted AS (
        INSERT INTO platform_events (id, tenant_id, event_type, payload, causation_execution_id,
            causation_depth, causation_root_event_id, action_key, occurred_at)
        VALUES (%(id)s, %(tenant_id)s, %(event_type)s, %(payload)s, %(causation_execution_id)s,
            %(causation_depth)s, %(causation_root_event_id)s, %(action_key)s, %(occurred_at)s)
        ON CONFLICT (tenant_id, action_key) WHERE action_key IS NOT NULL DO NOTHING
        RETURNING id
    ),
    matched AS (
        SELECT array_agg(s.id) AS ids FROM webhook_subscriptions AS s
        WHERE s.status = 'active'
          AND (s.tenant_id = %(tenant_id)s OR s.tenant_id IS NULL)
          AND s.event_types && ARRAY[%(event_type)s::varchar, '*']
          AND (NOT s.by_interest OR EXISTS (
              SELECT 1 FROM webhook_subscriber_interests AS i
              WHERE i.system_key = s.system_key AND i.tenant_id = %(tenant_id)s
                AND i.event_type = %(event_type)s))
          AND (s.system_key IS NULL OR s.system_key IS DISTINCT FROM %(in_process_key)s)
    )
    SELECT EXISTS (SELECT 1 FROM inserted), matched.ids,
           CASE WHEN matched.ids IS NULL THEN 0 ELSE (
               SELECT count(*) FROM (
                   SELECT 1 FROM webhook_deliveries
                   WHERE tenant_id = %(tenant_id)s AND status = 'pending' LIMIT %(cap)s
               ) AS waiting
           ) END
    FROM matched
"""
"""Every platform write runs this, so it is one statement for the driver (`db/raw.py`): the
event inserted (unless its action key is taken: a concurrent insert of the same key waits on
the unique index until the other transaction ends, so of two repeats exactly one commits); the
subscriptions it goes to (active, the tenant's or the operator's, of its type, wanted by an
interest-filtered subscriber, not served in process); and, only when one matched (PostgreSQL
evaluates the uncorrelated subquery lazily), the tenant's backlog of deliveries."""


@dataclass(frozen=True, slots=True)
class Recorded:
    inserted: bool
    """False: the event's action key was taken (a repeated flow action)."""
    subscription_ids: list[uuid.UUID]
    waiting: int
    """The tenant's deliveries waiting for a first attempt (up to the cap), when any matched."""


async def record_and_match(
    session: AsyncSession,
    event: EventRecord,
    action_key: str | None,
    *,
    in_process_key: str | None,
    cap: int,
) -> Recorded:
    connection = await driver_connection(session)
    parameters = {
        "id": event.event_id,
        "tenant_id": event.tenant_id,
        "event_type": event.event_type,
        "payload": Jsonb(event.payload),
        "causation_execution_id": event.causation_execution_id,
        "causation_depth": event.causation_depth,
        "causation_root_event_id": event.causation_root_event_id,
        "action_key": action_key,
        "occurred_at": event.occurred_at,
        "in_process_key": in_process_key,
        "cap": cap,
    }
    row = await (await connection.execute(_RECORD_AND_MATCH, parameters)).fetchone()
    assert row is not None
    return Recorded(inserted=bool(row[0]), subscription_ids=list(row[1] or []), waiting=row[2])


async def pending_backlog(session: AsyncSession, tenant_id: uuid.UUID, cap: int) -> int:
    """How many of the tenant's deliveries wait for a first attempt, counted up to `cap`."""
    connection = await session.connection()
    return int(await connection.scalar(_WAITING, {"tenant_id": tenant_id, "cap": cap}) or 0)


async def insert_deliveries(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    connection = await session.connection()
    await connection.execute(insert(WebhookDelivery), list(rows))


# ---- attempts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedEvent:
    id: str
    event_type: str
    occurred_at: datetime
    tenant_id: uuid.UUID
    payload: dict[str, Any]
    causation_execution_id: uuid.UUID | None
    causation_depth: int
    causation_root_event_id: str | None


@dataclass(frozen=True, slots=True)
class AttemptPlan:
    """Everything one attempt needs, read before the HTTP call (no lock held during it)."""

    delivery_id: uuid.UUID
    tenant_id: uuid.UUID
    version: int
    status: str
    cycle_attempts: int
    url: str
    secret: str
    subscription_status: str
    operator: bool
    event: PlannedEvent


_PLAN = (
    select(
        WebhookDelivery.tenant_id,
        WebhookDelivery.version,
        WebhookDelivery.status,
        WebhookDelivery.cycle_attempts,
        WebhookSubscription.url,
        WebhookSubscription.secret,
        WebhookSubscription.status.label("subscription_status"),
        WebhookSubscription.tenant_id.is_(None).label("operator"),
        PlatformEvent.id.label("event_id"),
        PlatformEvent.event_type,
        PlatformEvent.occurred_at,
        PlatformEvent.payload,
        PlatformEvent.causation_execution_id,
        PlatformEvent.causation_depth,
        PlatformEvent.causation_root_event_id,
    )
    .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
    .join(PlatformEvent, PlatformEvent.id == WebhookDelivery.event_id)
    .where(WebhookDelivery.id == bindparam("delivery_id"))
)


async def load_attempt_plan(session: AsyncSession, delivery_id: uuid.UUID) -> AttemptPlan | None:
    # Core execution on the session's connection: no ORM machinery on the hot path.
    connection = await session.connection()
    row = (await connection.execute(_PLAN, {"delivery_id": delivery_id})).one_or_none()
    if row is None:
        return None
    event = PlannedEvent(
        row.event_id,
        row.event_type,
        row.occurred_at,
        row.tenant_id,
        row.payload,
        row.causation_execution_id,
        row.causation_depth,
        row.causation_root_event_id,
    )
    return AttemptPlan(
        delivery_id,
        row.tenant_id,
        row.version,
        row.status,
        row.cycle_attempts,
        row.url,
        row.secret,
        row.subscription_status,
        bool(row.operator),
        event,
    )


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    status: str
    cycle_attempts: int
    status_code: int | None
    error: str | None
    duration_ms: int
    started_at: datetime
    finished_at: datetime
    next_attempt_at: datetime | None
    """Set when a retry is scheduled: the delivery's version then grows by one."""


# Built once: the hot path of every attempt only binds values (no statement construction).
_SETTLE = (
    update(WebhookDelivery)
    .where(
        WebhookDelivery.id == bindparam("delivery_id"),
        WebhookDelivery.version == bindparam("expected_version"),
        WebhookDelivery.status.in_(("pending", "failed")),
    )
    .values(
        status=bindparam("new_status", type_=String),
        attempt_count=WebhookDelivery.attempt_count + 1,
        cycle_attempts=bindparam("new_cycle_attempts", type_=Integer),
        version=WebhookDelivery.version + bindparam("version_bump", type_=Integer),
        next_attempt_at=bindparam("retry_at", type_=DateTime(timezone=True)),
        last_status_code=bindparam("status_code", type_=Integer),
        last_error=bindparam("error", type_=Text),
        delivered_at=func.coalesce(
            bindparam("delivered_now", type_=DateTime(timezone=True)),
            WebhookDelivery.delivered_at,
        ),
    )
    .returning(WebhookDelivery.attempt_count)
)
_ADD_ATTEMPT = insert(WebhookDeliveryAttempt)


async def record_attempt(
    session: AsyncSession, delivery_id: uuid.UUID, version: int, record: AttemptRecord
) -> int | None:
    """Store the attempt and the delivery's new state, if the delivery is still at `version`
    and unsettled (the UPDATE's row lock makes a racing twin job wait, then find nothing).
    Returns the attempt's number, or None when this job was stale."""
    connection = await session.connection()
    number = await connection.scalar(
        _SETTLE,
        {
            "delivery_id": delivery_id,
            "expected_version": version,
            "new_status": record.status,
            "new_cycle_attempts": record.cycle_attempts,
            "version_bump": 1 if record.next_attempt_at else 0,
            "retry_at": record.next_attempt_at,
            "status_code": record.status_code,
            "error": record.error,
            "delivered_now": record.finished_at if record.status == "delivered" else None,
        },
    )
    if number is None:
        return None
    await connection.execute(
        _ADD_ATTEMPT,
        {
            "id": uuid.uuid4(),
            "delivery_id": delivery_id,
            "number": number,
            "status_code": record.status_code,
            "duration_ms": record.duration_ms,
            "error": record.error,
            "at": record.started_at,
        },
    )
    return int(number)


# ---- subscriptions -------------------------------------------------------------------------


async def get_subscription(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    subscription_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WebhookSubscription | None:
    statement = select(WebhookSubscription).where(
        WebhookSubscription.id == subscription_id, WebhookSubscription.tenant_id == tenant_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def list_subscriptions(
    session: AsyncSession, tenant_id: uuid.UUID, page: PageRequest
) -> tuple[list[WebhookSubscription], str | None]:
    statement = paginate(
        select(WebhookSubscription).where(WebhookSubscription.tenant_id == tenant_id),
        page,
        WebhookSubscription.created_at,
        WebhookSubscription.id,
    )
    return page_of((await session.scalars(statement)).all(), page)


async def upsert_system_subscription(
    session: AsyncSession,
    key: str,
    url: str,
    secret: str,
    event_types: list[str],
    *,
    by_interest: bool = False,
) -> None:
    """Create the operator subscription named `key`, or bring its URL, secret and types up to
    date; safe when several processes start at once (one INSERT ... ON CONFLICT)."""
    statement = pg_insert(WebhookSubscription).values(
        id=uuid.uuid4(),
        tenant_id=None,
        system_key=key,
        url=url,
        secret=secret,
        event_types=event_types,
        status="active",
        description="operator subscription (configured by settings)",
        by_interest=by_interest,
    )
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[WebhookSubscription.system_key],
        set_={
            "url": excluded.url,
            "secret": excluded.secret,
            "event_types": excluded.event_types,
            "by_interest": excluded.by_interest,
            "updated_at": func.now(),
        },
        where=or_(
            WebhookSubscription.url != excluded.url,
            WebhookSubscription.secret != excluded.secret,
            WebhookSubscription.event_types != excluded.event_types,
            WebhookSubscription.by_interest != excluded.by_interest,
        ),
    )
    await session.execute(statement)


# ---- deliveries ----------------------------------------------------------------------------


def _tenant_deliveries(tenant_id: uuid.UUID) -> Any:
    """Deliveries to the tenant's own subscriptions (operator ones are not the tenant's)."""
    return (
        select(WebhookDelivery)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .where(WebhookDelivery.tenant_id == tenant_id, WebhookSubscription.tenant_id == tenant_id)
    )


async def list_deliveries(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    page: PageRequest,
    *,
    subscription_id: uuid.UUID | None,
    status: str | None,
) -> tuple[list[WebhookDelivery], str | None]:
    statement = _tenant_deliveries(tenant_id)
    if subscription_id is not None:
        statement = statement.where(WebhookDelivery.subscription_id == subscription_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    statement = paginate(statement, page, WebhookDelivery.created_at, WebhookDelivery.id)
    return page_of((await session.scalars(statement)).all(), page)


async def get_delivery(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WebhookDelivery | None:
    statement = _tenant_deliveries(tenant_id).where(WebhookDelivery.id == delivery_id)
    if for_update:
        statement = statement.with_for_update(of=WebhookDelivery)
    found: WebhookDelivery | None = await session.scalar(statement)
    return found


async def subscription_status(session: AsyncSession, subscription_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(WebhookSubscription.status).where(WebhookSubscription.id == subscription_id)
    )


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[WebhookDeliveryAttempt]]:
    """Every attempt of these deliveries in one query, oldest first."""
    found: dict[uuid.UUID, list[WebhookDeliveryAttempt]] = {key: [] for key in delivery_ids}
    if not delivery_ids:
        return found
    statement = (
        select(WebhookDeliveryAttempt)
        .where(WebhookDeliveryAttempt.delivery_id.in_(list(delivery_ids)))
        .order_by(WebhookDeliveryAttempt.delivery_id, WebhookDeliveryAttempt.number)
    )
    for attempt in (await session.scalars(statement)).all():
        found[attempt.delivery_id].append(attempt)
    return found


# ---- retention -----------------------------------------------------------------------------

_DELETE_SETTLED_EVENTS = text(
    """
    WITH candidates AS (
        SELECT e.id FROM platform_events e
        WHERE e.occurred_at < :cutoff
          AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                          WHERE d.event_id = e.id AND d.status IN ('pending', 'failed'))
        ORDER BY e.occurred_at
        LIMIT :batch
    ),
    locked AS MATERIALIZED (
        SELECT d.event_id, d.status FROM webhook_deliveries d
        WHERE d.event_id IN (SELECT id FROM candidates)
        FOR UPDATE
    ),
    deleted AS (
        DELETE FROM platform_events e
        WHERE e.id IN (SELECT id FROM candidates)
          AND NOT EXISTS (SELECT 1 FROM locked l
                          WHERE l.event_id = e.id AND l.status IN ('pending', 'failed'))
        RETURNING e.id
    ),
    tallied AS (
        INSERT INTO webhook_purged_deliveries AS p (status, count)
        SELECT l.status, count(*) FROM locked l
        WHERE l.event_id IN (SELECT id FROM deleted)
        GROUP BY l.status
        ON CONFLICT (status) DO UPDATE SET count = p.count + excluded.count
    )
    SELECT count(*) FROM deleted
    """
)


async def delete_settled_events(session: AsyncSession, cutoff: datetime, batch: int) -> int:
    """Delete up to `batch` events, of every tenant, that occurred before `cutoff` and have no
    delivery still to send (`pending` or `failed`); their deliveries and attempts go with them
    (ON DELETE CASCADE), counted by status into `webhook_purged_deliveries` so that the
    `bcs_deliveries_total` counters never go down. How many events went.

    One statement, oldest first (`ix_platform_events_occurred`). It locks the candidates'
    deliveries before deciding (`locked` is MATERIALIZED: computed once, and READ COMMITTED
    re-reads a row it waited for), so a redelivery (`dead` → `pending`) that commits meanwhile
    is seen and keeps its event, and one that comes after finds the delivery gone (404), never
    accepted and then deleted under it.
    """
    connection = await session.connection()
    return int(
        await connection.scalar(_DELETE_SETTLED_EVENTS, {"cutoff": cutoff, "batch": batch}) or 0
    )


_TALLY_SUBSCRIPTION_DELIVERIES = text(
    """
    INSERT INTO webhook_purged_deliveries AS p (status, count)
    SELECT status, count(*) FROM webhook_deliveries
    WHERE subscription_id = :subscription AND status IN ('delivered', 'dead')
    GROUP BY status
    ON CONFLICT (status) DO UPDATE SET count = p.count + excluded.count
    """
)


async def tally_settled_deliveries(session: AsyncSession, subscription_id: uuid.UUID) -> None:
    """Count the subscription's `delivered` and `dead` deliveries into
    `webhook_purged_deliveries` before they go with it, as the retention purge does, so that
    those `bcs_deliveries_total` series never drop."""
    connection = await session.connection()
    await connection.execute(_TALLY_SUBSCRIPTION_DELIVERIES, {"subscription": subscription_id})
