"""`make bench` / `python -m bench`: the welcome flow end to end, as a user would run it.

Prints a table and writes JSON to bench/results/. Figures are medians over --runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from bench.scenarios import steady
from bench.system import start_system

RESULTS = Path(__file__).parent / "results"


def _median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    merged = dict(runs[0])
    for key, value in runs[0].items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            merged[key] = round(statistics.median(run[key] for run in runs), 1)
    merged["runs"] = len(runs)
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["embedded", "server", "both"], default="both")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workers", type=int, default=0, help="extra `bcs worker` processes")
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=0, help="events/s; 0 = as fast as possible")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    databases = ["embedded", "server"] if args.database == "both" else [args.database]
    results = []
    for database in databases:
        runs = []
        for _ in range(args.runs):
            with start_system(database, args.server_url, args.workers, args.concurrency) as system:
                runs.append(steady(system, args.rate, args.events))
        result = _median_run(runs) | {"database": database, "workers": args.workers}
        results.append(result)
        _print(result)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nJSON: {out}")


def _print(result: dict[str, Any]) -> None:
    print(f"\n== {result['scenario']} on {result['database']} PostgreSQL, {result['runs']} runs")
    for key, value in result.items():
        if key not in {"scenario", "database", "runs"}:
            print(f"  {key:24} {value}")


if __name__ == "__main__":
    main()
