"""The plugin's credential at the receiver: `Authorization: Bearer <internal token>`.

It proves the caller is the automation plugin, nothing more: which tenant an action acts for
comes from the execution the batch names, never from the credential or the payloads.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bettercallsold.db.session import RuntimeDep
from bettercallsold.receiver.errors import InvalidPluginCredential

plugin_bearer = HTTPBearer(
    auto_error=False, scheme_name="PluginCredential", description="the plugin's internal token"
)


async def require_plugin(
    runtime: RuntimeDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(plugin_bearer)],
) -> None:
    """401 unless the bearer token is the internal token (compared in constant time)."""
    expected = runtime.settings.internal_api_token
    if credentials is None or not credentials.credentials:
        raise InvalidPluginCredential("missing plugin credential")
    if expected is None or not hmac.compare_digest(
        credentials.credentials.encode(), expected.get_secret_value().encode()
    ):
        raise InvalidPluginCredential("invalid plugin credential")
