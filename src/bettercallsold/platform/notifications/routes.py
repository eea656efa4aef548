from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from fastapi.responses import JSONResponse

from bettercallsold.db.session import SessionDep
from bettercallsold.http.pagination import Page, PageDep
from bettercallsold.platform.notifications import service
from bettercallsold.platform.notifications.providers import OutgoingMessage
from bettercallsold.platform.notifications.schemas import (
    CHANNEL_FILTER_PATTERN,
    ChannelMessageCreate,
    EmailCreate,
    NotificationOut,
    SmsCreate,
)
from bettercallsold.platform.once import answered, perform_once
from bettercallsold.platform.responses import AUTH, AUTH_404, WRITE
from bettercallsold.tenancy.auth import TenantDep

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


@router.post(
    "/email", status_code=status.HTTP_201_CREATED, responses=WRITE, response_model=NotificationOut
)
async def send_email(
    body: EmailCreate, session: SessionDep, context: TenantDep
) -> NotificationOut | JSONResponse:
    """Send an email; emits `notification.sent`."""
    message = OutgoingMessage("email", body.to, body.subject, body.body, body.template)
    return answered(
        await perform_once(
            session, context, lambda: service.send_notification(session, context, message)
        )
    )


@router.post(
    "/sms", status_code=status.HTTP_201_CREATED, responses=WRITE, response_model=NotificationOut
)
async def send_sms(
    body: SmsCreate, session: SessionDep, context: TenantDep
) -> NotificationOut | JSONResponse:
    """Send a text message; emits `notification.sent`."""
    message = OutgoingMessage("sms", body.to, None, body.message, None)
    return answered(
        await perform_once(
            session, context, lambda: service.send_notification(session, context, message)
        )
    )


@router.post(
    "", status_code=status.HTTP_201_CREATED, responses=WRITE, response_model=NotificationOut
)
async def send_channel_message(
    body: ChannelMessageCreate, session: SessionDep, context: TenantDep
) -> NotificationOut | JSONResponse:
    """Post a message on a generic channel (for example `slack`); emits `notification.sent`."""
    message = OutgoingMessage(body.channel, body.to, None, body.message, None)
    return answered(
        await perform_once(
            session, context, lambda: service.send_notification(session, context, message)
        )
    )


@router.get("", responses=AUTH)
async def list_notifications(
    session: SessionDep,
    context: TenantDep,
    page: PageDep,
    channel: Annotated[
        str | None,
        Query(pattern=CHANNEL_FILTER_PATTERN, description="only this channel's (empty: all)"),
    ] = None,
) -> Page[NotificationOut]:
    """Every notification the tenant sent, newest first, optionally of one channel."""
    items, cursor = await service.list_notifications(session, context, page, channel)
    return Page(items=items, next_cursor=cursor)


@router.get("/{notification_id}", responses=AUTH_404)
async def get_notification(
    notification_id: uuid.UUID, session: SessionDep, context: TenantDep
) -> NotificationOut:
    return await service.get_notification(session, context, notification_id)
