"""The bus's readings for `/metrics` (composed in `metrics.py`): its own tables only."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

_DELIVERIES = text(
    # The rows still there, plus those the retention purge deleted (`bus/tasks.py`).
    "SELECT status, sum(n) FROM ("
    " SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status"
    " UNION ALL SELECT status, count AS n FROM webhook_purged_deliveries"
    ") AS counted GROUP BY status"
)


async def delivery_counts(connection: AsyncConnection) -> dict[str, int]:
    """Webhook deliveries ever made, by status (a counter: purged ones are still counted)."""
    return {str(row[0]): int(row[1]) for row in await connection.execute(_DELIVERIES)}
