"""The UI's only way to data: the system's own HTTP APIs, called in-process as the tenant.

Each call carries a fresh service assertion for the session's tenant (the platform and the
plugin accept it like the tenant's API token), so the UI never holds or replays a token.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Annotated, Any

import httpx
from fastapi import Depends, Path

from bettercallsold.db.session import RuntimeDep
from bettercallsold.runtime import Runtime
from bettercallsold.settings import INPROCESS_BASE_URL
from bettercallsold.tenancy.assertions import sign_assertion
from bettercallsold.types import TenantContext
from bettercallsold.web.auth import SessionDep

Params = Mapping[str, str | int | None]
ResourceId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,80}$")]
"""An id taken from the page's URL into an API path: never a path of its own."""


class ApiError(Exception):
    """An API answered with an error status; `detail` is its JSON `detail` (or text)."""

    def __init__(self, status_code: int, detail: Any) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail

    def message(self) -> str:
        if isinstance(self.detail, str):
            return self.detail
        if isinstance(self.detail, list):
            return "; ".join(
                str(item.get("msg", item)) if isinstance(item, dict) else str(item)
                for item in self.detail
            )
        return str(self.detail)


class Api:
    """JSON calls to `http://bcs.internal` as one tenant."""

    def __init__(self, runtime: Runtime, tenant_id: uuid.UUID) -> None:
        self._http = runtime.http
        secret = runtime.settings.secret_key
        assert secret is not None, "create_app fills the secret key"
        self._secret = secret.get_secret_value()
        self._tenant_id = tenant_id

    def _headers(self, method: str, url: httpx.URL) -> dict[str, str]:
        """A fresh assertion for this one call: it is single-use and bound to method and path."""
        assertion = sign_assertion(
            self._secret, TenantContext(tenant_id=self._tenant_id), method=method, path=url.path
        )
        return {"Authorization": f"Bearer {assertion}", "Accept": "application/json"}

    async def request(
        self, method: str, path: str, *, params: Params | None = None, json: Any = None
    ) -> Any:
        """The answer's JSON (None for an empty body); `ApiError` for any status >= 400."""
        query = {key: value for key, value in (params or {}).items() if value not in (None, "")}
        url = httpx.URL(INPROCESS_BASE_URL + path)
        response = await self._http.request(
            method, url, params=query, json=json, headers=self._headers(method, url)
        )
        body = _decode(response)
        if response.status_code >= 400:
            detail = body.get("detail", body) if isinstance(body, dict) else body
            raise ApiError(response.status_code, detail)
        return body

    async def get(self, path: str, params: Params | None = None) -> Any:
        return await self.request("GET", path, params=params)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.request("POST", path, json=json)

    async def put(self, path: str, json: Any = None) -> Any:
        return await self.request("PUT", path, json=json)

    async def delete(self, path: str) -> Any:
        return await self.request("DELETE", path)

    async def list_items(
        self, path: str, params: Params | None = None, *, limit: int = 100, max_pages: int = 5
    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `max_pages` pages of a list; True when more remained unread."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(max_pages):
            page = await self.get(path, {**(params or {}), "limit": limit, "cursor": cursor})
            found, cursor = page_items(page)
            items.extend(found)
            if not cursor:
                return items, False
        return items, True


def page_items(page: Any) -> tuple[list[dict[str, Any]], str | None]:
    """A list answer's items and next cursor (`{"items", "next_cursor"}` or a bare list)."""
    if isinstance(page, list):
        return [item for item in page if isinstance(item, dict)], None
    if isinstance(page, dict):
        items = page.get("items", [])
        cursor = page.get("next_cursor")
        return [item for item in items if isinstance(item, dict)], cursor or None
    return [], None


def _decode(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def get_api(runtime: RuntimeDep, session: SessionDep) -> Api:
    return Api(runtime, session.tenant_id)


ApiDep = Annotated[Api, Depends(get_api)]
