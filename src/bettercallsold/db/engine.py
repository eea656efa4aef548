"""The async engine and session factory, one per process.

Dead pooled connections (the server restarted, an administrator ended the backend) are dropped
at checkout without a round trip: an idle connection in the pool has nothing to read, so a
readable socket means the server closed it or sent it a fatal error. That replaces
`pool_pre_ping`, which costs one round trip per checkout (about 15 per welcome-flow execution),
with one `poll()` system call. A connection that dies without its socket noticing (a host gone
without a FIN) fails its first statement, as it would right after a pre-ping; SQLAlchemy then
invalidates the pool, and jobs retry.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import AsyncIterator
from typing import Any

import psycopg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bettercallsold.db.url import resolve_database_url, sqlalchemy_url
from bettercallsold.settings import Settings


def make_engine(libpq_url: str, *, pool_size: int = 10, max_overflow: int = 20) -> AsyncEngine:
    engine = create_async_engine(
        sqlalchemy_url(libpq_url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=False,
    )
    event.listen(engine.sync_engine, "checkout", _drop_dead_connection)
    return engine


def _drop_dead_connection(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pool `checkout` hook: `DisconnectionError` makes the pool open a fresh connection."""
    del record, proxy
    problem = idle_connection_problem(dbapi_connection.driver_connection)
    if problem is not None:
        raise DisconnectionError(problem)


def idle_connection_problem(connection: Any) -> str | None:
    """Why an idle pooled psycopg connection is unusable, or None: one `poll()` system call.

    An idle connection has nothing to read, so a readable socket means the server closed it or
    sent it a fatal error. Shared by SQLAlchemy's pool and the job engine's (`jobs/app.py`)."""
    if connection is None or connection.closed or connection.broken:
        return "the pooled connection is closed"
    try:
        fd = connection.pgconn.socket
    except psycopg.OperationalError:  # no socket any more
        return "the pooled connection has no socket"
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        return "the server closed the pooled connection"
    return None


def make_sessionmaker(
    engine: AsyncEngine, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """`info` is copied into every session's `Session.info` (the in-process ports it carries)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info or {})


@contextlib.asynccontextmanager
async def read_session(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session for a read that needs no transaction (one statement, or reads that need not
    agree with each other): its connection runs in autocommit, which saves the BEGIN and
    ROLLBACK round trips around the read. Never write through it. A sessionmaker bound to
    something other than an engine (a test's connection, in its rolled-back transaction) gives
    an ordinary session."""
    engine = sessionmaker.kw.get("bind")
    if not isinstance(engine, AsyncEngine):
        async with sessionmaker() as session:
            yield session
        return
    async with engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        async with sessionmaker(bind=connection) as session:
            yield session


@contextlib.asynccontextmanager
async def command_session(settings: Settings) -> AsyncIterator[AsyncSession]:
    """One transaction against the configured database on an engine of its own (one
    connection), for a command run once (`bcs ...`); committed when the block ends."""
    engine = make_engine(resolve_database_url(settings), pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            yield session
    finally:
        await engine.dispose()
