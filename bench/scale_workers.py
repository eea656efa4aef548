"""Scaling with `bcs worker` processes: the welcome flow at saturation with 1, 2 and 4 workers.

For each worker count, a fresh system as an operator would scale it: `bcs serve --no-worker`
(the API, the plugin's webhook intake and the event receiver) plus N `bcs worker` processes
(deliveries and flow executions) on one PostgreSQL. `--events` customers are POSTed as fast as
the API takes them and the backlog is drained; the figure is completed executions per second
(first customer row to last action's log row, PostgreSQL's clock). Medians over `--runs`.

    python -m bench.scale_workers [--database embedded|server] [--workers 1,2,4]
                                  [--concurrency 10] [--pool-size 12] [--events 1000] [--runs 3]

Every process shares the machine's cores with PostgreSQL: on a small machine the figure shows
where the CPU runs out, not how far more machines would go. Each process may open
`--pool-size` connections (`BCS_DATABASE_POOL_SIZE`) plus up to 10 for the job engine: with the
default 30, an API and four workers at saturation exceed PostgreSQL's default
`max_connections` (100) and requests fail with "too many clients" (and are retried later).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.scenarios import run_load
from bench.system import start_system

RESULTS = Path(__file__).parent / "results"
_KEPT = (
    "throughput_per_s",
    "http_errors",
    "p50_ms",
    "p95_ms",
    "completed",
    "lost",
    "failed",
    "duplicated_actions",
    "cpu_ms_per_execution",
)


def _median(runs: list[dict[str, Any]], key: str) -> Any:
    values = [run[key] for run in runs if isinstance(run.get(key), int | float)]
    return round(statistics.median(values), 1) if values else runs[0].get(key)


def measure(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    settings = {"BCS_DATABASE_POOL_SIZE": str(args.pool_size)}
    with start_system(
        args.database, args.server_url, workers, args.concurrency, settings=settings
    ) as system:
        return run_load(system, 0, args.events, label=f"{workers} worker(s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database", choices=["embedded", "server"], default="embedded")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", default="1,2,4", help="worker counts, comma-separated")
    parser.add_argument("--concurrency", type=int, default=10, help="jobs at once per worker")
    parser.add_argument("--pool-size", type=int, default=12, help="BCS_DATABASE_POOL_SIZE")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    counts = [int(part) for part in args.workers.split(",")]
    rows: list[dict[str, Any]] = []
    runs: dict[int, list[dict[str, Any]]] = {count: [] for count in counts}
    # Alternate the worker counts run by run, so a noisy minute hurts every count alike.
    for _ in range(args.runs):
        for count in counts:
            found = measure(args, count)
            runs[count].append(found)
            print(
                f"  {count} worker(s): {found['throughput_per_s']} executions/s "
                f"(p50 {found['p50_ms']} ms, customer POSTs refused {found['http_errors']}, "
                f"flows not completed {found['failed']})",
                flush=True,
            )
    for count in counts:
        row = {"workers": count, **{key: _median(runs[count], key) for key in _KEPT}}
        row["throughput_runs"] = [run["throughput_per_s"] for run in runs[count]]
        rows.append(row)
    print(
        f"\n== welcome flow at saturation, {args.events} customers, `bcs serve --no-worker` + N "
        f"`bcs worker --concurrency {args.concurrency}`, BCS_DATABASE_POOL_SIZE={args.pool_size}, "
        f"{args.database} PostgreSQL, "
        f"{os.cpu_count()} cores, medians of {args.runs} runs"
    )
    header = f"{'workers':>8} {'executions/s':>13} {'p50 ms':>9} {'p95 ms':>9} {'POST errors':>12}"
    print(f"{header} {'not completed':>14}  executions/s of each run")
    for row in rows:
        print(
            f"{row['workers']:>8} {row['throughput_per_s']:>13} {row['p50_ms']:>9} "
            f"{row['p95_ms']:>9} {row['http_errors']:>12} {row['failed']:>14}  "
            f"{row['throughput_runs']}"
        )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"scale-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps({"args": vars(args), "rows": rows}, indent=2) + "\n")
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
