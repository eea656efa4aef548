"""The plugin's readings for `/metrics` (composed in `metrics.py`): its own tables only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


@dataclass(frozen=True, slots=True)
class Durations:
    """Completed executions' durations as a histogram: cumulative counts per bucket bound."""

    buckets: list[int]
    count: int
    total_seconds: float


async def execution_counts(connection: AsyncConnection) -> dict[str, int]:
    """Executions by status."""
    rows = await connection.execute(
        text("SELECT status, count(*) FROM automation_executions GROUP BY status")
    )
    return {str(row[0]): int(row[1]) for row in rows}


async def execution_durations(connection: AsyncConnection, bounds: Sequence[float]) -> Durations:
    """From start to completion, of every completed execution; `bounds` in seconds."""
    filters = ", ".join(f"count(*) FILTER (WHERE d <= {float(bound)})" for bound in bounds)
    row = (
        await connection.execute(
            text(
                f"SELECT {filters}, count(*), coalesce(sum(d), 0) FROM ("
                " SELECT extract(epoch FROM completed_at - started_at) AS d"
                " FROM automation_executions WHERE completed_at IS NOT NULL) AS t"
            )
        )
    ).one()
    return Durations(
        buckets=[int(value) for value in row[: len(bounds)]],
        count=int(row[len(bounds)]),
        total_seconds=float(row[len(bounds) + 1]),
    )
