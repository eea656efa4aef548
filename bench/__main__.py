"""`make bench` / `python -m bench`: flows end to end, as a user would run them.

Starts `bcs serve` (and `--workers` `bcs worker`s) on a fresh database for each run, drives the
platform API, and reads the figures from the database's own timestamps. Prints a table and
writes JSON to bench/results/. Figures are medians over --runs (each run a fresh system).

Scenarios: steady (a drained backlog, then a near-empty queue at half the drained rate, side
by side: executions/s, CPU and database transactions per execution, each window closed only when
the job queue is empty; latency in the near-empty regime), burst (a live sale on one tenant while
another's customers keep flowing), flows (cost vs other tenants' flows), steps (cost vs actions
per flow), soak (memory over time, with --soak).

`--src PATH` runs the `bcs` processes on another checkout's code (PATH = its `src`), with this
venv: alternate runs of two checkouts to compare "before" and "after" (bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import scenarios
from bench.system import start_system

RESULTS = Path(__file__).parent / "results"
ALL = ("steady", "burst", "flows", "steps")


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Numbers are the median over runs (recursively in nested dicts); the rest is run 1's."""
    merged: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, bool) or not all(key in run for run in runs):
            merged[key] = value
        elif isinstance(value, int | float):
            merged[key] = round(statistics.median(run[key] for run in runs), 1)
        elif isinstance(value, dict):
            merged[key] = _median([run[key] for run in runs])
        else:
            merged[key] = value
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", choices=["embedded", "server", "both"], default="both")
    parser.add_argument("--server-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--scenario", choices=[*ALL, "all"], default=["steady"], nargs="+")
    parser.add_argument("--workers", type=int, default=0, help="extra `bcs worker` processes")
    parser.add_argument("--concurrency", type=int, default=10, help="jobs at once per worker")
    parser.add_argument("--events", type=int, default=2000, help="customers per steady run")
    parser.add_argument("--rate", type=float, default=0, help="latency-run rate; 0 = half max")
    parser.add_argument("--burst", type=int, default=5000, help="orders in the live sale")
    parser.add_argument("--quiet-rate", type=float, default=5, help="tenant B customers/s")
    parser.add_argument("--flows", default="1,100,10000", help="other tenants' flows")
    parser.add_argument("--steps", default="2,10,20", help="actions per flow")
    parser.add_argument("--growth-events", type=int, default=300)
    parser.add_argument("--growth-rate", type=float, default=10, help="0 = saturation")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--soak", type=float, nargs="?", const=600, default=0, metavar="SECONDS")
    parser.add_argument("--soak-rate", type=float, default=20)
    parser.add_argument("--profile", metavar="FILE", help="py-spy samples of `bcs serve` (raw)")
    parser.add_argument(
        "--src",
        metavar="PATH",
        help="run this `src` directory's code (another checkout), i.e. PYTHONPATH=PATH",
    )
    args = parser.parse_args()
    if args.src:
        _use_source(Path(args.src))
    databases = ["embedded", "server"] if args.database == "both" else [args.database]
    chosen = list(ALL) if "all" in args.scenario else list(args.scenario)
    if args.soak:
        chosen = ["soak"]
    results: list[dict[str, Any]] = []
    for database in databases:
        for scenario in chosen:
            runs: list[list[dict[str, Any]]] = []
            for _ in range(1 if scenario == "soak" else args.runs):
                with start_system(
                    database, args.server_url, args.workers, args.concurrency, args.profile
                ) as system:
                    runs.append(_run(scenario, system, args))
            for index, rows in enumerate(zip(*runs, strict=True)):
                del index
                result = _median(list(rows)) | {
                    "database": database,
                    "workers": args.workers,
                    "runs": len(runs),
                }
                results.append(result)
                _print(result)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"\nJSON: {out}")


def _use_source(src: Path) -> None:
    """Put `src` first on the path of every `bcs` process (they inherit our environment) and of
    this one (the embedded server's URL, the flow examples)."""
    src = src.resolve()
    if not (src / "bettercallsold" / "__init__.py").exists():
        raise SystemExit(f"--src {src}: no bettercallsold package there")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(src), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    )
    sys.path.insert(0, str(src))
    print(f"code under test: {src}")


def _run(scenario: str, system: Any, args: argparse.Namespace) -> list[dict[str, Any]]:
    if scenario == "steady":
        return scenarios.steady(system, args.events, args.rate)
    if scenario == "burst":
        return [scenarios.live_sale(system, args.burst, args.quiet_rate)]
    if scenario == "flows":
        counts = [int(n) for n in args.flows.split(",")]
        return [scenarios.flow_growth(system, args.growth_rate, args.growth_events, counts)]
    if scenario == "steps":
        counts = [int(n) for n in args.steps.split(",")]
        return [scenarios.step_growth(system, args.growth_rate, args.growth_events, counts)]
    return [scenarios.soak(system, args.soak_rate, args.soak)]


PHASES = (("drained_", "drained backlog"), ("near_empty_", "near-empty queue"))
# Rows of the side-by-side table first in this order, then the rest as they come.
FIRST_ROWS = (
    "rate_per_s",
    "offered_per_s",
    "events",
    "completed",
    "executions_per_s",
    "sustained_executions_per_s",
    "seconds_to_empty_queue",
    "cpu_ms_per_execution",
    "db_transactions_per_execution",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "mean_ms",
    "queued_jobs_peak",
    "queued_jobs_mean",
)


def _phase_rows(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{figure: {phase title: value}} from the `drained_*` / `near_empty_*` keys (nested dicts
    flattened as `figure[key]`); `sustained_executions_per_s` is the drained phase's."""
    by_phase: dict[str, dict[str, Any]] = {title: {} for _, title in PHASES}
    for key, value in result.items():
        for prefix, title in PHASES:
            if key.startswith(prefix):
                by_phase[title][key.removeprefix(prefix)] = value
    if "sustained_executions_per_s" in result:
        by_phase[PHASES[0][1]]["sustained_executions_per_s"] = result["sustained_executions_per_s"]
    names = [n for n in FIRST_ROWS if any(n in figures for figures in by_phase.values())]
    for figures in by_phase.values():
        names += [n for n in figures if n not in names]
    rows: dict[str, dict[str, Any]] = {}
    for name in names:
        values = {title: figures.get(name) for title, figures in by_phase.items()}
        nested = [v for v in values.values() if isinstance(v, dict)]
        if not nested:
            rows[name] = values
            continue
        for sub in dict.fromkeys(k for v in nested for k in v):
            rows[f"{name}[{sub}]"] = {
                title: v.get(sub) if isinstance(v, dict) else None for title, v in values.items()
            }
    return rows


def _print(result: dict[str, Any]) -> None:
    title = f"{result['scenario']} | {result['database']} PostgreSQL"
    print(f"\n== {title}, {result['workers']} extra workers, median of {result['runs']} runs")
    phased = any(key.startswith(prefix) for key in result for prefix, _ in PHASES)
    if phased:
        print(f"  {'':44} " + " ".join(f"{t:>18}" for _, t in PHASES))
        for name, values in _phase_rows(result).items():
            cells = ("-" if v is None else str(v) for v in values.values())
            print(f"  {name:44} " + " ".join(f"{c:>18}" for c in cells))
    for key, value in result.items():
        if key in {"scenario", "database", "runs", "workers"}:
            continue
        if phased and (
            key == "sustained_executions_per_s"
            or any(key.startswith(prefix) for prefix, _ in PHASES)
        ):
            continue
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            columns = list(next(iter(value.values())))
            print(f"  {key:>10} " + " ".join(f"{c:>18}" for c in columns))
            for name, row in value.items():
                print(f"  {name:>10} " + " ".join(f"{row.get(c)!s:>18}" for c in columns))
        elif isinstance(value, list):
            print(f"  {key}:")
            for item in value:
                print(f"    {item}")
        else:
            print(f"  {key:30} {value}")


if __name__ == "__main__":
    main()
