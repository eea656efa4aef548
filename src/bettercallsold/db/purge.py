"""Deleting rows older than a retention period, in batches of short committed transactions.

One statement over a large backlog would hold its row locks and its snapshot for as long as
it runs (holding back vacuum everywhere); batches of a few thousand keep every transaction
short and let a purge stopped half-way (a worker's shutdown) keep what it did.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bettercallsold.types import utcnow

logger = logging.getLogger(__name__)

PURGE_BATCH = 5_000
"""Rows per transaction: a few thousand rows take a fraction of a second."""

DeleteOlder = Callable[[AsyncSession, datetime, int], Awaitable[int]]
"""Deletes up to `batch` rows older than `cutoff` in the session's transaction; how many."""


async def purge_older_than(
    sessionmaker: async_sessionmaker[AsyncSession],
    delete_older: DeleteOlder,
    *,
    days: int,
    batch: int,
    what: str,
) -> int:
    """Run `delete_older` in committed transactions until one deletes fewer than `batch`;
    the total deleted, logged as `what`."""
    cutoff = utcnow() - timedelta(days=days)
    purged = 0
    while True:
        async with sessionmaker() as session, session.begin():
            deleted = await delete_older(session, cutoff, batch)
        purged += deleted
        if deleted < batch:
            break
    if purged:
        logger.info("purged %d %s older than %s", purged, what, cutoff.isoformat())
    return purged
