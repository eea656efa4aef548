"""The receiver's readings for `/metrics` (composed in `metrics.py`): its own tables only."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


async def action_counts(connection: AsyncConnection) -> dict[tuple[str, bool], int]:
    """Actions performed, by (action type, success)."""
    rows = await connection.execute(
        text("SELECT action_type, success, count(*) FROM automation_event_log GROUP BY 1, 2")
    )
    return {(str(row[0]), bool(row[1])): int(row[2]) for row in rows}
