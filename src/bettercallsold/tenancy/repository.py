"""Every SQL statement of single-use service assertions: spending an id, purging spent ones."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bettercallsold.tenancy.models import AssertionUse

PURGE_GRACE = timedelta(minutes=1)
"""Spent ids are kept this long past their expiry, so a process whose clock lags the purging
worker's still finds the id of an assertion it would take as unexpired."""


async def spend_assertion(
    connection: AsyncConnection, jti: uuid.UUID, expires_at: datetime
) -> bool:
    """Record the assertion `jti` as used; False when it already was.

    One statement, so two requests racing with one assertion cannot both win: the primary key
    lets exactly one insert through, and the other finds the conflict.
    """
    spent = await connection.scalar(
        insert(AssertionUse)
        .values(jti=jti, expires_at=expires_at)
        .on_conflict_do_nothing(index_elements=[AssertionUse.jti])
        .returning(AssertionUse.jti)
    )
    return spent is not None


async def purge_spent_assertions(engine: AsyncEngine, now: datetime) -> int:
    """Delete the ids of assertions expired (by `PURGE_GRACE`) before `now`; how many.

    An expired assertion is refused on its expiry alone, so its id is no longer needed.
    """
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(AssertionUse).where(AssertionUse.expires_at < now - PURGE_GRACE)
        )
    return int(result.rowcount)
