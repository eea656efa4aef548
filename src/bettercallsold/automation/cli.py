"""`bcs flows import FILE --tenant ID` and `bcs flows export --tenant ID`.

Files hold flows in the shape of `POST /plugins/automation/flows` (one, a list, or
`{"flows": [...]}`). Import validates every flow and stores all of them or none; a flow with
the name of one the tenant has is updated in place, so export → import round-trips.
`--tenant` takes the tenant's id or its name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.settings import Settings

flows_app = typer.Typer(help="Import and export automation flows.", no_args_is_help=True)
_console = Console(stderr=True)

TenantOption = Annotated[str, typer.Option("--tenant", help="the tenant's id or name")]


def _session(settings: Settings) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
    from bettercallsold.db.engine import command_session

    return command_session(settings)


async def _tenant_id(session: AsyncSession, tenant: str) -> uuid.UUID:
    from bettercallsold.tenancy.models import Tenant
    from bettercallsold.tenancy.service import find_tenant_by_name

    with contextlib.suppress(ValueError):
        tenant_id = uuid.UUID(tenant)
        if await session.get(Tenant, tenant_id) is not None:
            return tenant_id
    found = await find_tenant_by_name(session, tenant)
    if found is None:
        _console.print(f"[red]no tenant {tenant!r}[/red]")
        raise typer.Exit(code=1)
    return found


@flows_app.command("import")
def import_flows(
    file: Annotated[Path, typer.Argument(help="JSON file of flows", exists=True, dir_okay=False)],
    tenant: TenantOption,
) -> None:
    """Create (or update, by name) the tenant's flows from a JSON file."""
    from bettercallsold.automation.errors import InvalidFlow
    from bettercallsold.automation.flows import upsert_flow_by_name
    from bettercallsold.automation.seeding import FlowFileError, read_flows_file

    try:
        flows = read_flows_file(file)
    except FlowFileError as exc:
        _console.print(f"[red]{exc}[/red]")
        raise typer.Exit(code=1) from exc

    async def main() -> list[dict[str, str]]:
        async with _session(Settings().with_generated_secrets()) as session:
            tenant_id = await _tenant_id(session, tenant)
            done = []
            for flow in flows:
                try:
                    out, what = await upsert_flow_by_name(session, tenant_id, flow)
                except InvalidFlow as exc:
                    for problem in exc.detail():
                        _console.print(f"[red]{flow.name}: {_where(problem)}: {problem['msg']}")
                    raise typer.Exit(code=1) from exc
                done.append({"id": str(out.id), "name": out.name, "result": what})
            return done

    for line in asyncio.run(main()):
        print(json.dumps(line))


@flows_app.command("export")
def export_flows(
    tenant: TenantOption,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write here instead of stdout")
    ] = None,
) -> None:
    """Write the tenant's flows as JSON (a list, importable with `bcs flows import`)."""
    from bettercallsold.automation.flows import export_flows as export

    async def main() -> list[dict[str, Any]]:
        async with _session(Settings().with_generated_secrets()) as session:
            return await export(session, await _tenant_id(session, tenant))

    text = json.dumps(asyncio.run(main()), indent=2, ensure_ascii=False) + "\n"
    if output is None:
        print(text, end="")
    else:
        output.write_text(text, encoding="utf-8")
        _console.print(f"wrote {output}")


def _where(problem: dict[str, object]) -> str:
    loc = problem.get("loc")
    parts = loc[1:] if isinstance(loc, list) else []
    return ".".join(str(part) for part in parts)
