"""Prometheus `/metrics`, computed from the database at scrape time: the job queues' readings
(procrastinate's tables, owned by no part) and each part's own (`bus/metrics.py`,
`automation/metrics.py`, `receiver/metrics.py`), composed here.

Every API and worker process shares one PostgreSQL, so the database is the one place where a
delivery or an execution counted by any process is visible; per-process counters would need
a push gateway or multiprocess files. The queries group small status columns and read
procrastinate's queue, so a scrape stays cheap at the table sizes we run.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TypeVar

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bettercallsold.automation import metrics as automation_metrics
from bettercallsold.bus import metrics as bus_metrics
from bettercallsold.jobs import queues
from bettercallsold.receiver import metrics as receiver_metrics

DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
KNOWN_QUEUES = queues.ALL


@dataclass
class MetricsSnapshot:
    queue_depth: dict[str, int] = field(default_factory=dict)
    oldest_waiting: dict[str, float] = field(default_factory=dict)
    jobs_running: dict[str, int] = field(default_factory=dict)
    workers: dict[str, int] = field(default_factory=dict)
    deliveries: dict[str, int] = field(default_factory=dict)
    executions: dict[str, int] = field(default_factory=dict)
    actions: dict[tuple[str, bool], int] = field(default_factory=dict)
    duration_buckets: list[int] = field(default_factory=list)
    duration_count: int = 0
    duration_sum: float = 0.0


_OLDEST_WAITING = text(
    # A job waits from when it was deferred, or from when it became due (a scheduled retry).
    "SELECT j.queue_name, max(extract(epoch FROM now() - greatest(e.at, j.scheduled_at)))"
    " FROM procrastinate_jobs AS j"
    " JOIN procrastinate_events AS e ON e.job_id = j.id AND e.type = 'deferred'"
    " WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())"
    " GROUP BY j.queue_name"
)


async def _counts(connection: AsyncConnection, sql: str) -> dict[str, int]:
    return {str(row[0]): int(row[1]) for row in await connection.execute(text(sql))}


async def collect_snapshot(
    connection: AsyncConnection, *, stalled_after_seconds: float = 20.0
) -> MetricsSnapshot:
    """`stalled_after_seconds`: a worker whose heartbeat is older counts as `silent` (dead, its
    jobs about to be recovered; `BCS_WORKER_STALLED_SECONDS`)."""
    snapshot = MetricsSnapshot()
    snapshot.queue_depth = dict.fromkeys(KNOWN_QUEUES, 0) | await _counts(
        connection,
        "SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'todo' "
        "GROUP BY queue_name",
    )
    snapshot.oldest_waiting = dict.fromkeys(KNOWN_QUEUES, 0.0) | {
        str(row[0]): float(row[1]) for row in await connection.execute(_OLDEST_WAITING)
    }
    snapshot.jobs_running = dict.fromkeys(KNOWN_QUEUES, 0) | await _counts(
        connection,
        "SELECT queue_name, count(*) FROM procrastinate_jobs WHERE status = 'doing' "
        "GROUP BY queue_name",
    )
    heartbeats = (
        await connection.execute(
            text(
                "SELECT count(*) FILTER (WHERE age < make_interval(secs => :s)),"
                " count(*) FILTER (WHERE age >= make_interval(secs => :s))"
                " FROM (SELECT now() - last_heartbeat AS age FROM procrastinate_workers) AS w"
            ),
            {"s": stalled_after_seconds},
        )
    ).one()
    snapshot.workers = {"alive": int(heartbeats[0]), "silent": int(heartbeats[1])}
    snapshot.deliveries = await bus_metrics.delivery_counts(connection)
    snapshot.executions = await automation_metrics.execution_counts(connection)
    snapshot.actions = await receiver_metrics.action_counts(connection)
    durations = await automation_metrics.execution_durations(connection, DURATION_BUCKETS)
    snapshot.duration_buckets = durations.buckets
    snapshot.duration_count = durations.count
    snapshot.duration_sum = durations.total_seconds
    return snapshot


_Family = TypeVar("_Family", GaugeMetricFamily, CounterMetricFamily)


def _by_label(family: _Family, counts: dict[str, int]) -> _Family:
    """One sample per label value, in a stable order."""
    for value, count in sorted(counts.items()):
        family.add_metric([value], count)
    return family


class _SnapshotCollector(Collector):
    def __init__(self, snapshot: MetricsSnapshot) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily | HistogramMetricFamily]:
        snap = self._snapshot
        yield _by_label(
            GaugeMetricFamily("bcs_queue_depth", "Jobs waiting per queue", labels=["queue"]),
            snap.queue_depth,
        )
        oldest = GaugeMetricFamily(
            "bcs_queue_oldest_waiting_seconds",
            "Age of the oldest job waiting per queue (0: none waits); growing: add workers",
            labels=["queue"],
        )
        for queue, seconds in sorted(snap.oldest_waiting.items()):
            oldest.add_metric([queue], round(seconds, 3))
        yield oldest
        yield _by_label(
            GaugeMetricFamily(
                "bcs_jobs_running", "Jobs being run by a worker, per queue", labels=["queue"]
            ),
            snap.jobs_running,
        )
        yield _by_label(
            GaugeMetricFamily(
                "bcs_workers",
                "Job workers by heartbeat: alive, or silent (dead; their jobs are being recovered)",
                labels=["state"],
            ),
            snap.workers,
        )
        yield _by_label(
            CounterMetricFamily(
                "bcs_deliveries", "Webhook deliveries by outcome", labels=["outcome"]
            ),
            snap.deliveries,
        )
        yield _by_label(
            CounterMetricFamily("bcs_executions", "Flow executions by status", labels=["status"]),
            snap.executions,
        )
        actions = CounterMetricFamily(
            "bcs_actions", "Actions run by the receiver", labels=["action_type", "success"]
        )
        for (action_type, success), count in sorted(snap.actions.items()):
            actions.add_metric([action_type, str(success).lower()], count)
        yield actions
        buckets = [
            (str(bound), count)
            for bound, count in zip(DURATION_BUCKETS, snap.duration_buckets, strict=True)
        ]
        buckets.append(("+Inf", snap.duration_count))
        yield HistogramMetricFamily(
            "bcs_execution_duration_seconds",
            "Time from an execution's start to its completion",
            buckets=buckets,
            sum_value=snap.duration_sum,
        )


def render(snapshot: MetricsSnapshot) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_SnapshotCollector(snapshot))
    return generate_latest(registry)
