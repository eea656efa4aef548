"""One transaction per request: the dependency commits once at the end, or rolls back.

Services and repositories only `flush()`, so a platform write, its outbox event and the jobs
that deliver it commit together or not at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_session(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    async with runtime.sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# scope="function": commit before the response is sent, so a 201 always means "stored".
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
