"""The plugin's interests at the bus: per tenant, the event types its active flows use.

Over HTTP (`BCS_PLUGIN_URL`) the bus delivers a tenant's event to the plugin only for these
types (`bus/interests.py`), so the events no flow reads cost no delivery, job or request. Every
change to a tenant's flows replaces its interests in the same transaction; each process start
adds those of every active flow (for flows saved before interests existed). In process the
intake looks the flows up itself, and the interests are kept all the same, so switching modes
never starts from a stale filter.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.bus.interests import add_interests, replace_interests
from bettercallsold.bus.startup import PLUGIN_SUBSCRIPTION_KEY


async def sync_tenant(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    async def wanted() -> list[str]:
        return await repository.active_trigger_types(session, tenant_id)

    await replace_interests(session, PLUGIN_SUBSCRIPTION_KEY, tenant_id, wanted)


async def declare_all(session: AsyncSession) -> None:
    await add_interests(
        session, PLUGIN_SUBSCRIPTION_KEY, await repository.active_trigger_pairs(session)
    )
