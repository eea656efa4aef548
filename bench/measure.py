"""Figures: end-to-end latency from the database's own timestamps, memory and CPU.

Memory is PSS (proportional set size, `psutil.Process.memory_full_info().pss`): a page shared
by k processes counts 1/k in each, so the sum over PostgreSQL's processes counts its shared
buffers once, where a sum of RSS would count them once per backend. RSS sums are reported too,
for comparison, and say nothing honest about PostgreSQL.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil
import psycopg

# From a customer's row to the last action's event-log row of the execution it triggered:
# both timestamps come from the same PostgreSQL clock.
LATENCY_SQL = """
SELECT extract(epoch FROM max(l.created_at) - min(c.created_at)) AS latency,
       extract(epoch FROM min(c.created_at)) AS created,
       extract(epoch FROM max(l.created_at)) AS finished
FROM automation_executions e
JOIN customers c ON c.id::text = e.trigger_data->>'customer_id'
JOIN automation_event_log l ON l.flow_execution_id = e.id
WHERE e.tenant_id = %(tenant)s AND e.status = 'completed'
GROUP BY e.id
"""

# Any trigger (orders too): from the platform event that started the execution (recorded in
# the write's transaction, whether the plugin takes it in process or by webhook) to the
# execution's last log row.
EXECUTION_SPAN_SQL = """
SELECT extract(epoch FROM max(l.created_at) - min(r.occurred_at)) AS latency,
       extract(epoch FROM min(r.occurred_at)) AS created,
       extract(epoch FROM max(l.created_at)) AS finished
FROM automation_executions e
JOIN platform_events r ON r.id = e.event_id
JOIN automation_event_log l ON l.flow_execution_id = e.id
WHERE e.tenant_id = %(tenant)s AND e.status = 'completed'
GROUP BY e.id
"""

STATUS_SQL = """
SELECT status, count(*) FROM automation_executions WHERE tenant_id = %(tenant)s GROUP BY status
"""

# procrastinate's queue, whatever the tasks are: jobs waiting or running, in any queue but the
# periodic housekeeping one (its jobs are deferred every minute whether or not anything happens).
QUEUED_SQL = """
SELECT count(*) FILTER (WHERE status = 'todo') AS todo,
       count(*) FILTER (WHERE status = 'doing') AS doing
FROM procrastinate_jobs
WHERE status IN ('todo', 'doing') AND queue_name <> 'maintenance'
"""

# One probe for "is the phase over": the tenant's executions (all, and those not finished), the
# queue, and PostgreSQL's clock (the same clock as the rows' timestamps).
DRAINED_SQL = """
SELECT (SELECT count(*) FROM automation_executions WHERE tenant_id = %(tenant)s),
       (SELECT count(*) FROM automation_executions
        WHERE tenant_id = %(tenant)s AND status IN ('pending', 'running')),
       (SELECT count(*) FROM procrastinate_jobs
        WHERE status IN ('todo', 'doing') AND queue_name <> 'maintenance'),
       extract(epoch FROM clock_timestamp())
"""


@dataclass
class Latencies:
    seconds: list[float]
    first_created: float
    last_finished: float

    def percentile(self, q: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]

    def summary_ms(self) -> dict[str, float]:
        return {
            "p50_ms": round(self.percentile(0.50) * 1000, 1),
            "p95_ms": round(self.percentile(0.95) * 1000, 1),
            "p99_ms": round(self.percentile(0.99) * 1000, 1),
            "mean_ms": round(statistics.fmean(self.seconds) * 1000, 1) if self.seconds else 0.0,
        }

    @property
    def throughput(self) -> float:
        span = self.last_finished - self.first_created
        return len(self.seconds) / span if span > 0 else 0.0


def latencies(
    connection: psycopg.Connection[Any], tenant: str, sql: str = LATENCY_SQL
) -> Latencies:
    rows = connection.execute(sql, {"tenant": tenant}).fetchall()
    if not rows:
        return Latencies([], 0.0, 0.0)
    return Latencies(
        [float(r[0]) for r in rows], min(float(r[1]) for r in rows), max(float(r[2]) for r in rows)
    )


def statuses(connection: psycopg.Connection[Any], tenant: str) -> dict[str, int]:
    return {row[0]: int(row[1]) for row in connection.execute(STATUS_SQL, {"tenant": tenant})}


def wait_for(check: Callable[[], bool], timeout_s: float, interval_s: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval_s)
    return check()


Roles = Callable[[], dict[int, str]]
"""pid → role (`bcs serve`, `bcs worker`, `postgres`) of every process that serves us."""


@dataclass
class MemorySampler:
    """Samples PSS (and RSS) of a set of processes (re-listed each time) in a thread."""

    list_roles: Roles
    interval_s: float = 0.5
    peak_total_mb: float = 0.0
    peak_rss_total_mb: float = 0.0
    peak_by_role: dict[str, float] = field(default_factory=dict)
    samples: list[tuple[float, float, dict[str, float]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def sample(self) -> tuple[float, float, dict[str, float]]:
        pss_total = rss_total = 0.0
        by_role: dict[str, float] = {}
        for pid, role in self.list_roles().items():
            try:
                info = psutil.Process(pid).memory_full_info()
            except psutil.Error:
                continue
            pss, rss = info.pss / 2**20, info.rss / 2**20
            pss_total += pss
            rss_total += rss
            by_role[role] = by_role.get(role, 0.0) + pss
        return pss_total, rss_total, by_role

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            pss_total, rss_total, by_role = self.sample()
            self.samples.append((time.monotonic() - start, pss_total, by_role))
            self.peak_total_mb = max(self.peak_total_mb, pss_total)
            self.peak_rss_total_mb = max(self.peak_rss_total_mb, rss_total)
            for role, pss in by_role.items():
                self.peak_by_role[role] = max(self.peak_by_role.get(role, 0.0), pss)
            self._stop.wait(self.interval_s)

    def figures(self) -> dict[str, Any]:
        return {
            "peak_pss_mb": round(self.peak_total_mb, 1),
            "peak_pss_by_role_mb": {k: round(v, 1) for k, v in sorted(self.peak_by_role.items())},
            "peak_rss_sum_mb": round(self.peak_rss_total_mb, 1),
        }


@dataclass
class CpuMeter:
    """CPU seconds (user + system) spent per role between `__enter__` and `__exit__`.

    Processes that come and go in between (PostgreSQL backends) are counted from the
    first time they are seen, so the figure is a lower bound for them."""

    list_roles: Roles
    spent: dict[str, float] = field(default_factory=dict)
    _start: dict[int, tuple[str, float]] = field(default_factory=dict)

    @staticmethod
    def _cpu(pid: int) -> float | None:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            return None
        return float(times.user + times.system)

    _stopped: bool = False

    def __enter__(self) -> CpuMeter:
        for pid, role in self.list_roles().items():
            cpu = self._cpu(pid)
            if cpu is not None:
                self._start[pid] = (role, cpu)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Close the window (once; `__exit__` after an explicit `stop()` changes nothing)."""
        if self._stopped:
            return
        self._stopped = True
        for pid, role in self.list_roles().items():
            cpu = self._cpu(pid)
            if cpu is None:
                continue
            before = self._start.get(pid, (role, 0.0))[1]
            self.spent[role] = self.spent.get(role, 0.0) + max(0.0, cpu - before)

    def per_item_ms(self, items: int) -> dict[str, float]:
        """ms per item by role, and `total`: every process, PostgreSQL included."""
        if items <= 0:
            return {}
        by_role = {role: round(1000 * s / items, 1) for role, s in sorted(self.spent.items())}
        return by_role | {"total": round(1000 * sum(self.spent.values()) / items, 1)}


@dataclass
class QueueSampler:
    """Samples procrastinate's queue (`QUEUED_SQL`: jobs waiting, jobs running) in a thread:
    the size of the backlog being drained, or how near empty a "near-empty" queue was."""

    connect: Callable[[], psycopg.Connection[Any]]
    interval_s: float = 0.5
    samples: list[tuple[int, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> QueueSampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()

    def _run(self) -> None:
        with self.connect() as connection:
            while not self._stop.is_set():
                row = connection.execute(QUEUED_SQL).fetchone()
                if row is not None:
                    self.samples.append((int(row[0]), int(row[1])))
                self._stop.wait(self.interval_s)

    def figures(self) -> dict[str, float]:
        waiting = [todo for todo, _ in self.samples] or [0]
        return {
            "queued_jobs_peak": max(waiting),
            "queued_jobs_mean": round(statistics.fmean(waiting), 1),
        }
