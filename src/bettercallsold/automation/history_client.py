"""The bus's stored events over HTTP (`GET /api/events`): the `EventHistory` port when the
platform runs elsewhere (`BCS_PLATFORM_URL`), for the replay.

The plugin holds no tenant's API token. It reads one tenant's events as that tenant, with a
service assertion (`assertions.py`) signed for this one `GET /api/events`, usable once within
60 s, as the event receiver calls the platform; a retry would sign a fresh one.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bettercallsold.automation.errors import EventHistoryUnavailable
from bettercallsold.ports import StoredEvent
from bettercallsold.tenancy.assertions import sign_assertion
from bettercallsold.types import TenantContext

EVENTS_PATH = "/api/events"
TIMEOUT_SECONDS = 10.0
_MAX_DETAIL_CHARS = 300


class _Event(BaseModel):
    event_id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]


class _Events(BaseModel):
    items: list[_Event]


class HttpEventHistory:
    """`EventHistory` over the bus's HTTP API; the session argument is unused (another
    process's database is not ours to read)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, secret_key: str | None) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.secret_key = secret_key

    async def recent(
        self,
        session: AsyncSession,
        tenant_id: uuid.UUID,
        event_type: str,
        *,
        limit: int,
        since: datetime | None = None,
    ) -> list[StoredEvent]:
        """Raises `EventHistoryUnavailable` (502) when the bus does not answer with events."""
        if self.secret_key is None:
            raise EventHistoryUnavailable("no secret key to sign the request for the tenant")
        url = httpx.URL(self.base_url + EVENTS_PATH)
        # Signed for the path as the server routes it: without the query.
        credential = sign_assertion(
            self.secret_key, TenantContext(tenant_id=tenant_id), method="GET", path=url.path
        )
        params: dict[str, str | int] = {"event_type": event_type, "limit": limit}
        if since is not None:
            params["since"] = since.isoformat()
        try:
            response = await self.http.get(
                url,
                params=params,
                headers={"Authorization": f"Bearer {credential}"},
                timeout=TIMEOUT_SECONDS,
            )
        except httpx.HTTPError as exc:
            raise EventHistoryUnavailable(
                f"the stored events could not be read: {type(exc).__name__}"
            ) from exc
        if response.status_code != 200:
            raise EventHistoryUnavailable(
                f"the stored events could not be read: the bus answered "
                f"{response.status_code}: {response.text[:_MAX_DETAIL_CHARS]}"
            )
        try:
            found = _Events.model_validate_json(response.content)
        except ValidationError as exc:
            raise EventHistoryUnavailable(
                "the stored events could not be read: not an event list"
            ) from exc
        return [
            StoredEvent(e.event_id, e.event_type, e.occurred_at, e.payload) for e in found.items
        ]
