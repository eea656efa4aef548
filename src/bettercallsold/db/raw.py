"""The session's own psycopg connection, for the hot path's statements.

Every platform write and every flow execution runs the same dozen statements. Through
SQLAlchemy each one pays for the greenlet bridge of its async layer, its statement cache key
and its result wrapping: about a quarter of `bcs serve`'s CPU per execution, measured. Sent
straight to the driver connection, in the transaction SQLAlchemy began (its state untouched:
these are plain DML and SELECTs), they cost what psycopg costs. psycopg prepares a statement
on the server after its fifth run, so PostgreSQL stops parsing them too. The rest of the code
keeps SQLAlchemy.
"""

from __future__ import annotations

from typing import Any, cast

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection of the session's transaction (begun if it was not)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return cast(psycopg.AsyncConnection[Any], raw.driver_connection)
