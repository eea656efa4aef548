"""Sending notifications: the provider delivers, the platform keeps every message."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.bus.outbox import record_event
from bettercallsold.http.pagination import PageRequest, page_of, paginate
from bettercallsold.platform.notifications.models import Notification
from bettercallsold.platform.notifications.providers import (
    NotificationProvider,
    OutgoingMessage,
    StoringProvider,
)
from bettercallsold.platform.notifications.schemas import NotificationOut
from bettercallsold.platform.ownership import get_owned
from bettercallsold.platform.rows import insert_row
from bettercallsold.types import TenantContext

DEFAULT_PROVIDER: NotificationProvider = StoringProvider()


async def send_notification(
    session: AsyncSession,
    context: TenantContext,
    message: OutgoingMessage,
    provider: NotificationProvider = DEFAULT_PROVIDER,
) -> NotificationOut:
    result = await provider.send(message)
    values = {
        "id": uuid.uuid4(),
        "tenant_id": context.tenant_id,
        "channel": message.channel,
        "to": message.to,
        "subject": message.subject,
        "body": message.body,
        "template": message.template,
        "status": result.status,
        "provider": result.provider,
        "provider_response": result.response,
    }
    out = NotificationOut.model_validate(await insert_row(session, Notification, values))
    payload = out.model_dump(mode="json")
    payload["notification_id"] = payload["id"]
    await record_event(session, context, "notification.sent", payload)
    return out


async def list_notifications(
    session: AsyncSession, context: TenantContext, page: PageRequest, channel: str | None
) -> tuple[list[NotificationOut], str | None]:
    statement = select(Notification).where(Notification.tenant_id == context.tenant_id)
    if channel:
        statement = statement.where(Notification.channel == channel)
    statement = paginate(statement, page, Notification.created_at, Notification.id)
    rows, cursor = page_of((await session.scalars(statement)).all(), page)
    return [NotificationOut.model_validate(row) for row in rows], cursor


async def get_notification(
    session: AsyncSession, context: TenantContext, notification_id: uuid.UUID
) -> NotificationOut:
    found = await get_owned(session, Notification, context.tenant_id, notification_id)
    return NotificationOut.model_validate(found)
