"""Insights: a tenant's (or one flow's) executions of the last hours, as hourly counts by
status, the p50/p95 duration of those that finished, and the most frequent errors.

One statement, over the executions started in the window only: the range is walked on
`ix_automation_executions_tenant_started` (or, for one flow, `..._flow_started`), so its cost
follows the window's executions, not the table's. Hours are UTC hours; the window is the
current hour and the `hours - 1` before it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation import repository
from bettercallsold.automation.errors import FlowNotFound
from bettercallsold.automation.schemas import (
    DurationPercentiles,
    InsightBucket,
    InsightsOut,
    TopError,
)

COUNTED_STATUSES = ("completed", "completed_with_errors", "failed", "skipped")
"""The finished statuses the buckets count (running, waiting or cancelled ones are not)."""
TOP_ERRORS = 10
MAX_HOURS = 720
ERROR_CHARS = 500
"""Errors are grouped on their first characters: a long message differing only in its tail
(a response body, say) counts as one."""

_INSIGHTS = """
    WITH runs AS MATERIALIZED (
        SELECT status, started_at, completed_at, error
        FROM automation_executions
        WHERE tenant_id = :tenant_id AND started_at >= :start AND started_at < :end
          {flow_filter}
    )
    SELECT
        (SELECT coalesce(jsonb_agg(jsonb_build_object(
                    'hour', hour, 'status', status, 'count', runs)), '[]')
         FROM (SELECT date_trunc('hour', started_at, 'UTC') AS hour, status, count(*) AS runs
               FROM runs WHERE status = ANY(:statuses) GROUP BY 1, 2) AS counts) AS counts,
        (SELECT percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (
                    ORDER BY extract(epoch FROM completed_at - started_at) * 1000)
         FROM runs WHERE completed_at IS NOT NULL AND status = ANY(:statuses)) AS durations,
        (SELECT coalesce(jsonb_agg(jsonb_build_object('error', error, 'count', runs)
                    ORDER BY runs DESC, error), '[]')
         FROM (SELECT left(error, :error_chars) AS error, count(*) AS runs
               FROM runs WHERE error IS NOT NULL
               GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT :top) AS errors) AS top_errors
"""


def window(now: datetime, hours: int) -> list[datetime]:
    """The starts of the window's hours, oldest first; the last is the hour `now` is in."""
    current = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return [current - timedelta(hours=back) for back in range(hours - 1, -1, -1)]


async def insights(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    now: datetime,
    *,
    hours: int = 24,
    flow_id: uuid.UUID | None = None,
) -> InsightsOut:
    """The tenant's insights over `hours` hours up to `now` (timezone-aware), or one of its
    flows' (`FlowNotFound` for another tenant's or none)."""
    if flow_id is not None and await repository.get_flow(session, tenant_id, flow_id) is None:
        raise FlowNotFound()
    starts = window(now, hours)
    parameters: dict[str, Any] = {
        "tenant_id": tenant_id,
        "start": starts[0],
        "end": starts[-1] + timedelta(hours=1),
        "statuses": list(COUNTED_STATUSES),
        "error_chars": ERROR_CHARS,
        "top": TOP_ERRORS,
    }
    # Two texts rather than `(:flow_id IS NULL OR ...)`: a prepared statement's generic plan
    # would then pick one index for both cases.
    flow_filter = ""
    if flow_id is not None:
        flow_filter, parameters["flow_id"] = "AND flow_id = :flow_id", flow_id
    row = (await session.execute(text(_INSIGHTS.format(flow_filter=flow_filter)), parameters)).one()
    return InsightsOut(
        buckets=_buckets(starts, row.counts),
        duration_ms=_percentiles(row.durations),
        top_errors=[TopError.model_validate(found) for found in row.top_errors],
    )


def _buckets(starts: list[datetime], counts: list[dict[str, Any]]) -> list[InsightBucket]:
    by_hour: dict[datetime, dict[str, int]] = {}
    for count in counts:
        hour = datetime.fromisoformat(count["hour"])
        by_hour.setdefault(hour, {})[count["status"]] = count["count"]
    return [
        InsightBucket(
            start=start,
            **{status: by_hour.get(start, {}).get(status, 0) for status in COUNTED_STATUSES},
        )
        for start in starts
    ]


def _percentiles(durations: list[float] | None) -> DurationPercentiles:
    if not durations:
        return DurationPercentiles(p50=None, p95=None)
    p50, p95 = durations
    return DurationPercentiles(p50=round(p50, 3), p95=round(p95, 3))
