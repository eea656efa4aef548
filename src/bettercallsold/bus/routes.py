"""The bus's API: a tenant's webhook subscriptions and their deliveries (see `service`), and its
stored events (`GET /api/events`, see `history`). HTTP only."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from bettercallsold.bus import config, history, service
from bettercallsold.bus.schemas import (
    DeliveryOut,
    DeliveryStatusName,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionOut,
    SubscriptionUpdate,
)
from bettercallsold.bus.service import UrlPolicy
from bettercallsold.db.session import RuntimeDep, SessionDep
from bettercallsold.http.pagination import Page, PageDep
from bettercallsold.http.schemas import ErrorOut
from bettercallsold.tenancy.auth import TenantDep

webhooks = APIRouter(prefix="/api/webhooks", tags=["webhooks"])
events = APIRouter(prefix="/api/events", tags=["events"])


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        401: "missing or invalid credentials",
        404: "not found (or another tenant's)",
        409: "conflicts with the delivery's or subscription's state",
    }
    return {code: {"model": ErrorOut, "description": described[code]} for code in codes}


def url_policy(runtime: RuntimeDep) -> UrlPolicy:
    return UrlPolicy(
        allow_private=runtime.settings.webhook_allow_private_urls,
        resolver=config.resolver(runtime),
    )


UrlPolicyDep = Annotated[UrlPolicy, Depends(url_policy)]


@webhooks.post("/subscriptions", status_code=status.HTTP_201_CREATED, responses=_errors(401))
async def create_subscription(
    body: SubscriptionCreate, session: SessionDep, context: TenantDep, policy: UrlPolicyDep
) -> SubscriptionCreated:
    """Subscribe a URL to the tenant's events (exact names or `*`).

    The answer carries the signing `secret`, shown only here. URLs that resolve to loopback,
    private, link-local or metadata addresses are a 422 unless the operator allows them.
    """
    return await service.create_subscription(session, context, body, policy)


@webhooks.get("/subscriptions", responses=_errors(401))
async def list_subscriptions(
    session: SessionDep, context: TenantDep, page: PageDep
) -> Page[SubscriptionOut]:
    """The tenant's subscriptions, newest first."""
    items, cursor = await service.list_subscriptions(session, context, page)
    return Page(items=items, next_cursor=cursor)


@webhooks.get("/subscriptions/{subscription_id}", responses=_errors(401, 404))
async def get_subscription(
    subscription_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> SubscriptionOut:
    return await service.get_subscription(session, context, subscription_id)


@webhooks.put("/subscriptions/{subscription_id}", responses=_errors(401, 404))
async def update_subscription(
    subscription_id: uuid.UUID,
    body: SubscriptionUpdate,
    session: SessionDep,
    context: TenantDep,
    policy: UrlPolicyDep,
) -> SubscriptionOut:
    """Change any of `url`, `event_types`, `description`, `status` (`active`/`paused`).

    A paused subscription gets no new deliveries; its waiting ones end `dead` unsent.
    """
    return await service.update_subscription(session, context, subscription_id, body, policy)


@webhooks.delete(
    "/subscriptions/{subscription_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_errors(401, 404),
)
async def delete_subscription(
    subscription_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> Response:
    """Delete the subscription and its delivery history."""
    await service.delete_subscription(session, context, subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@webhooks.get("/deliveries", responses=_errors(401))
async def list_deliveries(
    session: SessionDep,
    context: TenantDep,
    page: PageDep,
    subscription_id: Annotated[uuid.UUID | None, Query(description="only this one's")] = None,
    delivery_status: Annotated[
        DeliveryStatusName | None, Query(alias="status", description="only in this state")
    ] = None,
) -> Page[DeliveryOut]:
    """Deliveries to the tenant's subscriptions, newest first, each with every attempt."""
    items, cursor = await service.list_deliveries(
        session, context, page, subscription_id=subscription_id, status=delivery_status
    )
    return Page(items=items, next_cursor=cursor)


@webhooks.get("/deliveries/{delivery_id}", responses=_errors(401, 404))
async def get_delivery(
    delivery_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> DeliveryOut:
    return await service.get_delivery(session, context, delivery_id)


@webhooks.post(
    "/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_errors(401, 404, 409),
)
async def redeliver(delivery_id: uuid.UUID, session: SessionDep, context: TenantDep) -> DeliveryOut:
    """Queue the delivery again now with a fresh retry schedule (typically a `dead` one)."""
    return await service.redeliver(session, context, delivery_id)


@webhooks.post(
    "/subscriptions/{subscription_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    responses=_errors(401, 404, 409),
)
async def send_test_event(
    subscription_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> DeliveryOut:
    """Queue a signed `webhook.test` event to this subscription only (whatever its event
    types); the answer is its delivery, followed like any other."""
    return await service.send_test_event(session, context, subscription_id)


@events.get("", responses=_errors(401))
async def list_stored_events(
    session: SessionDep,
    context: TenantDep,
    event_type: Annotated[str, Query(min_length=1, max_length=64, description="only this type")],
    since: Annotated[
        datetime | None, Query(description="occurred at or after (ISO 8601; no offset: UTC)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=history.MAX_EVENTS, description="how many")] = 50,
) -> history.StoredEventList:
    """The tenant's stored events of one type, newest first, as long as retention keeps them
    (the automation plugin replays flows on them)."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    found = await history.recent_events(
        session, context.tenant_id, event_type, limit=limit, since=since
    )
    return history.as_list(found)


router = APIRouter()
"""What `app.py` includes: both of the bus's routers."""
router.include_router(webhooks)
router.include_router(events)
