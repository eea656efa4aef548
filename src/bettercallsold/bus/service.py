"""Webhook API use cases: a tenant's subscriptions and the deliveries made to them.

Everything is scoped by the caller's tenant: another tenant's subscription or delivery (and the
operator's subscriptions) answer 404, exactly like a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus import dispatch, repository
from bettercallsold.bus.errors import (
    DeliveryAlreadyQueued,
    DeliveryNotFound,
    SubscriptionNotFound,
    SubscriptionPaused,
    WebhookUrlRefused,
)
from bettercallsold.bus.models import PlatformEvent, WebhookDelivery, WebhookSubscription
from bettercallsold.bus.outbox import new_event_id
from bettercallsold.bus.schemas import (
    AttemptOut,
    DeliveryOut,
    DeliveryStatusName,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionUpdate,
)
from bettercallsold.bus.signing import new_secret
from bettercallsold.http.pagination import PageRequest
from bettercallsold.outbound import Resolver, UnresolvableHost, UrlRefused, check_url
from bettercallsold.ports import EventRecord
from bettercallsold.types import TenantContext, utcnow


@dataclass(frozen=True, slots=True)
class UrlPolicy:
    """The operator's URL rule (`BCS_WEBHOOK_ALLOW_PRIVATE_URLS`) and the resolver to apply it."""

    allow_private: bool
    resolver: Resolver


async def _checked_url(url: str, policy: UrlPolicy) -> str:
    """Refuse a URL that is malformed or reaches a forbidden address.

    A name that does not resolve *yet* (a receiver being deployed, DNS not propagated) is
    accepted: it cannot reach anything now, and every delivery attempt checks it again
    before connecting, so it can never be used to reach an internal address later.
    """
    try:
        await check_url(url, allow_private=policy.allow_private, resolver=policy.resolver)
    except UnresolvableHost:
        return url
    except UrlRefused as exc:
        raise WebhookUrlRefused(str(exc)) from exc
    return url


async def create_subscription(
    session: AsyncSession, context: TenantContext, body: SubscriptionCreate, policy: UrlPolicy
) -> SubscriptionCreated:
    subscription = WebhookSubscription(
        id=uuid.uuid4(),
        tenant_id=context.tenant_id,
        url=await _checked_url(body.url, policy),
        event_types=body.event_types,
        secret=new_secret(),
        status="active",
        description=body.description,
    )
    session.add(subscription)
    await session.flush()
    await session.refresh(subscription)
    shown = SubscriptionOut.model_validate(subscription)
    return SubscriptionCreated(**shown.model_dump(), secret=subscription.secret)


async def _owned_subscription(
    session: AsyncSession,
    context: TenantContext,
    subscription_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> WebhookSubscription:
    found = await repository.get_subscription(
        session, context.tenant_id, subscription_id, for_update=for_update
    )
    if found is None:
        raise SubscriptionNotFound()
    return found


async def get_subscription(
    session: AsyncSession, context: TenantContext, subscription_id: uuid.UUID
) -> SubscriptionOut:
    return SubscriptionOut.model_validate(
        await _owned_subscription(session, context, subscription_id)
    )


async def list_subscriptions(
    session: AsyncSession, context: TenantContext, page: PageRequest
) -> tuple[list[SubscriptionOut], str | None]:
    rows, cursor = await repository.list_subscriptions(session, context.tenant_id, page)
    return [SubscriptionOut.model_validate(row) for row in rows], cursor


async def update_subscription(
    session: AsyncSession,
    context: TenantContext,
    subscription_id: uuid.UUID,
    body: SubscriptionUpdate,
    policy: UrlPolicy,
) -> SubscriptionOut:
    """Change any subset; null keeps a value, except `description`, which null clears."""
    subscription = await _owned_subscription(session, context, subscription_id, for_update=True)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        subscription.url = await _checked_url(changes["url"], policy)
    if changes.get("event_types") is not None:
        subscription.event_types = changes["event_types"]
    if changes.get("status") is not None:
        subscription.status = changes["status"]
    if "description" in changes:
        subscription.description = changes["description"]
    await session.flush()
    await session.refresh(subscription)
    return SubscriptionOut.model_validate(subscription)


async def delete_subscription(
    session: AsyncSession, context: TenantContext, subscription_id: uuid.UUID
) -> None:
    """Delete it with its deliveries; their waiting jobs find nothing and do nothing."""
    subscription = await _owned_subscription(session, context, subscription_id, for_update=True)
    await repository.tally_settled_deliveries(session, subscription.id)
    await session.delete(subscription)
    await session.flush()


async def _with_attempts(
    session: AsyncSession, deliveries: Sequence[WebhookDelivery]
) -> list[DeliveryOut]:
    attempts = await repository.attempts_of(session, [delivery.id for delivery in deliveries])
    return [
        DeliveryOut.model_validate(
            {
                **{
                    key: getattr(delivery, key)
                    for key in DeliveryOut.model_fields
                    if key != "attempts"
                },
                "attempts": [AttemptOut.model_validate(row) for row in attempts[delivery.id]],
            }
        )
        for delivery in deliveries
    ]


async def list_deliveries(
    session: AsyncSession,
    context: TenantContext,
    page: PageRequest,
    *,
    subscription_id: uuid.UUID | None = None,
    status: DeliveryStatusName | None = None,
) -> tuple[list[DeliveryOut], str | None]:
    rows, cursor = await repository.list_deliveries(
        session, context.tenant_id, page, subscription_id=subscription_id, status=status
    )
    return await _with_attempts(session, rows), cursor


async def get_delivery(
    session: AsyncSession, context: TenantContext, delivery_id: uuid.UUID
) -> DeliveryOut:
    delivery = await repository.get_delivery(session, context.tenant_id, delivery_id)
    if delivery is None:
        raise DeliveryNotFound()
    return (await _with_attempts(session, [delivery]))[0]


async def redeliver(
    session: AsyncSession, context: TenantContext, delivery_id: uuid.UUID
) -> DeliveryOut:
    """Send a delivery again now, with a fresh retry schedule (its attempts are kept).

    Typically a `dead` one; a `failed` one is pulled forward (its scheduled retry is superseded)
    and a `delivered` one sent once more. A `pending` one is already queued: 409.
    """
    delivery = await repository.get_delivery(
        session, context.tenant_id, delivery_id, for_update=True
    )
    if delivery is None:
        raise DeliveryNotFound()
    if delivery.status == "pending":
        raise DeliveryAlreadyQueued()
    if await repository.subscription_status(session, delivery.subscription_id) != "active":
        raise SubscriptionPaused()
    delivery.status = "pending"
    delivery.cycle_attempts = 0
    delivery.version += 1
    delivery.next_attempt_at = utcnow()
    await dispatch.schedule(session, delivery.tenant_id, delivery.id, delivery.version)
    await session.flush()
    await session.refresh(delivery)
    return (await _with_attempts(session, [delivery]))[0]


TEST_EVENT_TYPE = "webhook.test"
"""Not a platform event: a delivery a merchant asks for, to see a subscriber answer."""


async def send_test_event(
    session: AsyncSession, context: TenantContext, subscription_id: uuid.UUID
) -> DeliveryOut:
    """Queue a signed `webhook.test` event to this one subscription (whatever its event types),
    delivered and retried like any other, so a merchant sees at once whether the subscriber
    answers. A paused subscription is a 409."""
    subscription = await _owned_subscription(session, context, subscription_id)
    if subscription.status != "active":
        raise SubscriptionPaused("the subscription is paused; resume it to send a test event")
    event = PlatformEvent(
        id=new_event_id(),
        tenant_id=context.tenant_id,
        event_type=TEST_EVENT_TYPE,
        payload={
            "message": "A test event from BetterCallSold",
            "subscription_id": str(subscription.id),
        },
        causation_execution_id=None,
        causation_depth=0,
        occurred_at=utcnow(),
    )
    session.add(event)
    await session.flush()
    record = EventRecord(
        event_id=event.id,
        tenant_id=event.tenant_id,
        event_type=event.event_type,
        payload=event.payload,
        occurred_at=event.occurred_at,
        causation_execution_id=None,
        causation_depth=0,
    )
    [delivery_id] = await dispatch.fan_out(session, record, [subscription.id], waiting=0)
    return await get_delivery(session, context, delivery_id)
