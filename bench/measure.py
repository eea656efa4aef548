"""Figures: end-to-end latency from the database's own timestamps, and peak memory."""

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

STATUS_SQL = """
SELECT status, count(*) FROM automation_executions WHERE tenant_id = %(tenant)s GROUP BY status
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


def latencies(connection: psycopg.Connection[Any], tenant: str) -> Latencies:
    rows = connection.execute(LATENCY_SQL, {"tenant": tenant}).fetchall()
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


@dataclass
class MemorySampler:
    """Samples the summed RSS of a set of processes (re-listed each time) in a thread."""

    list_pids: Callable[[], list[int]]
    interval_s: float = 0.25
    peak_total_mb: float = 0.0
    peak_by_name: dict[str, float] = field(default_factory=dict)
    samples: list[tuple[float, float]] = field(default_factory=list)
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

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            total = 0.0
            by_name: dict[str, float] = {}
            for pid in self.list_pids():
                try:
                    proc = psutil.Process(pid)
                    rss = proc.memory_info().rss / 2**20
                    name = "postgres" if proc.name() == "postgres" else _role(proc)
                except psutil.Error:
                    continue
                total += rss
                by_name[name] = by_name.get(name, 0.0) + rss
            self.samples.append((time.monotonic() - start, total))
            self.peak_total_mb = max(self.peak_total_mb, total)
            for name, rss in by_name.items():
                self.peak_by_name[name] = max(self.peak_by_name.get(name, 0.0), rss)
            self._stop.wait(self.interval_s)


def _role(proc: psutil.Process) -> str:
    cmdline = " ".join(proc.cmdline())
    if " worker" in cmdline:
        return "bcs worker"
    if " serve" in cmdline:
        return "bcs serve"
    return proc.name()
