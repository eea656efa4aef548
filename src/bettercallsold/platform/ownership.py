"""Tenant-scoped lookups: another tenant's object is indistinguishable from a missing one."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.errors import NotFound

M = TypeVar("M")


async def get_owned(
    session: AsyncSession,
    model: type[M],
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    *,
    for_update: bool = False,
    what: str | None = None,
) -> M:
    table: Any = model
    statement = select(model).where(table.id == item_id, table.tenant_id == tenant_id)
    if for_update:
        statement = statement.with_for_update()
    found = await session.scalar(statement)
    if found is None:
        raise NotFound(f"{what or model.__name__.lower()} not found")
    return found
