"""Tenant-scoped reads and the update step the resources share: another tenant's object is
indistinguishable from a missing one, every list is the same keyset page, and an update applies
the fields sent (null clears what can be cleared)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.errors import NotFound
from bettercallsold.http.pagination import PageRequest, page_of, paginate

M = TypeVar("M")
Out = TypeVar("Out", bound=BaseModel)
CLEARABLE = frozenset({"tags"})
"""Fields a null clears (to an empty list); a null name or price is refused by the schemas."""


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


async def list_owned(
    session: AsyncSession, model: type[Any], out: type[Out], tenant_id: uuid.UUID, page: PageRequest
) -> tuple[list[Out], str | None]:
    """One keyset page of the tenant's objects, newest first."""
    statement = paginate(
        select(model).where(model.tenant_id == tenant_id), page, model.created_at, model.id
    )
    rows, cursor = page_of((await session.scalars(statement)).all(), page)
    return [out.model_validate(row) for row in rows], cursor


def apply_changes(
    item: object, changes: Mapping[str, Any], clearable: Collection[str] = CLEARABLE
) -> list[str]:
    """Set the fields sent on `item`; the changed field names, sorted (the event's
    `changed_fields`)."""
    for field, value in changes.items():
        setattr(item, field, [] if value is None and field in clearable else value)
    return sorted(changes)
