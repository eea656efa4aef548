"""Bearer authentication for the platform APIs: the tenant comes from the credential only."""

from __future__ import annotations

import time
import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from bettercallsold.db.session import RuntimeDep
from bettercallsold.errors import Unauthorized
from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import ASSERTION_PREFIX, AssertionRefused, verify_assertion
from bettercallsold.tenancy.models import ApiToken
from bettercallsold.tenancy.repository import spend_assertion
from bettercallsold.tenancy.tokens import hash_token
from bettercallsold.types import TenantContext, utcnow

bearer_scheme = HTTPBearer(auto_error=False, description="the tenant's API token")


async def authenticate(
    request: Request,
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> TenantContext:
    """The caller's tenant, from its API token or a service assertion; `Unauthorized` (401)
    otherwise, naming what is wrong (never echoing the credential)."""
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    token = credentials.credentials
    if token.startswith(ASSERTION_PREFIX):
        return await _asserted(request, runtime, token)
    tenant_id = await tenant_for_api_token(runtime, token)
    if tenant_id is None:
        raise Unauthorized("invalid bearer token")
    return TenantContext(tenant_id=tenant_id)


async def tenant_for_api_token(runtime: Runtime, token: str) -> uuid.UUID | None:
    """The tenant whose API token this is, or None (service assertions are not API tokens)."""
    token_hash = hash_token(token)
    tenant_id = _recently_seen.get(token_hash)
    if tenant_id is None:
        async with runtime.engine.connect() as connection:
            # autocommit: one round trip for the lookup, no BEGIN and ROLLBACK around it
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            tenant_id = await connection.scalar(
                select(ApiToken.tenant_id).where(ApiToken.token_hash == token_hash)
            )
        if tenant_id is None:
            return None
        _recently_seen.put(token_hash, tenant_id)
    return tenant_id


async def _asserted(request: Request, runtime: Runtime, token: str) -> TenantContext:
    """The context a service assertion grants for this very request, spent on first use.

    The id is spent in its own autocommitted statement, before the request's work, not in the
    request's transaction: an assertion whose request then fails stays spent, so it can never
    be replayed, and a caller that retries (the receiver on a 5xx) signs a fresh one anyway.
    """
    secret = runtime.settings.secret_key
    if secret is None:
        raise Unauthorized("service assertions are not accepted here")
    try:
        found = verify_assertion(
            secret.get_secret_value(),
            token,
            method=request.method,
            path=request.scope["path"],
            now=utcnow(),
        )
    except AssertionRefused as refused:
        raise Unauthorized(str(refused)) from None
    async with runtime.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        first_use = await spend_assertion(connection, found.jti, found.expires_at)
    if not first_use:
        raise Unauthorized("service assertion already used")
    return found.context


class _RecentTokens:
    """Tokens found valid in the last `ttl` seconds, by hash: a client sending many requests
    (a sale's orders) costs one lookup every `ttl`, not one connection and round trip each.
    Only valid tokens are kept (a wrong one is looked up every time), at most `size`, and a
    token deleted from the database stops working within `ttl`."""

    def __init__(self, ttl: float, size: int) -> None:
        self._ttl, self._size = ttl, size
        self._seen: dict[str, tuple[float, uuid.UUID]] = {}

    def get(self, token_hash: str) -> uuid.UUID | None:
        found = self._seen.get(token_hash)
        if found is None or found[0] < time.monotonic():
            return None
        return found[1]

    def put(self, token_hash: str, tenant_id: uuid.UUID) -> None:
        if len(self._seen) >= self._size:
            self._seen.pop(next(iter(self._seen)))  # the oldest entry
        self._seen[token_hash] = (time.monotonic() + self._ttl, tenant_id)


_recently_seen = _RecentTokens(ttl=10.0, size=10_000)


TenantDep = Annotated[TenantContext, Depends(authenticate)]
