"""Inserting a resource's row with one prepared Core statement.

A create is the platform's hottest write (every new customer, every email and task a flow
sends), and for a row this simple the ORM's unit of work (instance state, flush plan,
identity map) costs more than the statement. `INSERT ... RETURNING *` gives back the server's
defaults in the same round trip, and the response model reads the row as it read the object.
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Insert, RowMapping, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.db.base import Base


@functools.cache
def _insert_returning(table: Table) -> Insert:
    return insert(table).returning(*table.c)


async def insert_row(
    session: AsyncSession, model: type[Base], values: dict[str, Any]
) -> RowMapping:
    """Insert one row of `model` (Python-side column defaults applied) in the session's
    transaction; the stored row, every column."""
    table: Any = model.__table__
    connection = await session.connection()
    result = await connection.execute(_insert_returning(table), values)
    return result.mappings().one()
