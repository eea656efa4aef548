"""Bearer authentication for the platform APIs: the tenant comes from the credential only."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select

from bettercallsold.assertions import verify_assertion
from bettercallsold.db.session import RuntimeDep
from bettercallsold.errors import Unauthorized
from bettercallsold.tenancy.models import ApiToken
from bettercallsold.tenancy.tokens import hash_token
from bettercallsold.types import TenantContext

bearer_scheme = HTTPBearer(auto_error=False, description="the tenant's API token")


async def authenticate(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> TenantContext:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("missing bearer token")
    token = credentials.credentials
    secret = runtime.settings.secret_key
    if secret is not None:
        asserted = verify_assertion(secret.get_secret_value(), token)
        if asserted is not None:
            return asserted
    async with runtime.engine.connect() as connection:
        # autocommit: one round trip for the lookup, no BEGIN and ROLLBACK around it
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        tenant_id = await connection.scalar(
            select(ApiToken.tenant_id).where(ApiToken.token_hash == hash_token(token))
        )
    if tenant_id is None:
        raise Unauthorized("invalid bearer token")
    return TenantContext(tenant_id=tenant_id)


TenantDep = Annotated[TenantContext, Depends(authenticate)]
