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

_CACHED = "bcs.driver_connection"


async def driver_connection(session: AsyncSession) -> psycopg.AsyncConnection[Any]:
    """The psycopg connection of the session's transaction (begun if it was not).

    Looked up once per transaction (through SQLAlchemy's async bridge, two hops) and kept in
    the session's `info` beside the transaction it belongs to: a transaction holds one
    connection from its start to its end, savepoints included."""
    transaction = session.sync_session.get_transaction()
    cached = session.info.get(_CACHED)
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cast(psycopg.AsyncConnection[Any], cached[1])
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = cast(psycopg.AsyncConnection[Any], raw.driver_connection)
    session.info[_CACHED] = (session.sync_session.get_transaction(), driver)
    return driver
