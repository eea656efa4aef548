"""The demo tenant `make run` seeds: a tenant, a token kept in var/, the example flows."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.db.engine import make_engine, make_sessionmaker
from bettercallsold.db.url import resolve_database_url
from bettercallsold.settings import Settings
from bettercallsold.tenancy.service import (
    create_tenant,
    find_tenant_by_name,
    issue_token,
    token_is_valid,
)

DEMO_TENANT = "demo"


@dataclass(frozen=True)
class SeededDemo:
    tenant_id: uuid.UUID
    api_token: str


async def seed_demo(settings: Settings, token_file: Path) -> SeededDemo:
    """Idempotent: a second run reuses the tenant and its token (kept 0600 in `var/`)."""
    stored = token_file.read_text().strip() if token_file.exists() else ""  # noqa: ASYNC240
    engine = make_engine(resolve_database_url(settings), pool_size=1, max_overflow=0)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            tenant_id = await find_tenant_by_name(session, DEMO_TENANT)
            if tenant_id is None:
                issued = await create_tenant(session, DEMO_TENANT)
                tenant_id, token = issued.tenant_id, issued.api_token
            else:
                if stored and await token_is_valid(session, stored, tenant_id):
                    token = stored
                else:
                    token = await issue_token(session, tenant_id, label="demo")
            await _seed_flows(session, tenant_id)
    finally:
        await engine.dispose()
    token_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return SeededDemo(tenant_id=tenant_id, api_token=token)


async def _seed_flows(session: AsyncSession, tenant_id: uuid.UUID) -> None:
    """The automation plugin's example flows, each created once (by name): a re-run keeps
    the merchant's edits."""
    from bettercallsold.automation.seeding import seed_example_flows

    await seed_example_flows(session, tenant_id)
