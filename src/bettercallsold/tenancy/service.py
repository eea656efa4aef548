"""Creating tenants and issuing their tokens (used by the CLI and the test factories)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.errors import Conflict
from bettercallsold.tenancy.models import ApiToken, Tenant
from bettercallsold.tenancy.tokens import hash_token, new_token


class TenantExists(Conflict):
    """A tenant with this name already exists."""


@dataclass(frozen=True)
class IssuedTenant:
    tenant_id: uuid.UUID
    api_token: str


async def create_tenant(session: AsyncSession, name: str) -> IssuedTenant:
    existing = await session.scalar(select(Tenant.id).where(Tenant.name == name))
    if existing is not None:
        raise TenantExists(f"tenant {name!r} already exists")
    tenant = Tenant(id=uuid.uuid4(), name=name)
    session.add(tenant)
    await session.flush()
    token = await issue_token(session, tenant.id)
    return IssuedTenant(tenant_id=tenant.id, api_token=token)


async def issue_token(session: AsyncSession, tenant_id: uuid.UUID, label: str = "default") -> str:
    token = new_token()
    session.add(
        ApiToken(tenant_id=tenant_id, token_hash=hash_token(token), prefix=token[:12], label=label)
    )
    await session.flush()
    return token


async def find_tenant_by_name(session: AsyncSession, name: str) -> uuid.UUID | None:
    return await session.scalar(select(Tenant.id).where(Tenant.name == name))


async def token_is_valid(session: AsyncSession, token: str, tenant_id: uuid.UUID) -> bool:
    """True when `token` is a live token of that tenant (not merely of some tenant)."""
    found = await session.scalar(
        select(ApiToken.id).where(
            ApiToken.token_hash == hash_token(token), ApiToken.tenant_id == tenant_id
        )
    )
    return found is not None
