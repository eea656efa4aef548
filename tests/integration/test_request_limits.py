"""What one request may cost: 413 over 1 MiB before the body is read, 422 for JSON nested
deeper than 64, on every endpoint, signed or not, and nothing stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from bettercallsold.http.request_limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from tests.integration.conftest import TenantHandle

PATHS = ("/api/customers", "/plugins/automation/webhook", "/api/events/automation")


@pytest.mark.parametrize("path", PATHS)
async def test_a_declared_body_over_1_mib_is_a_413_before_anything_else(
    client: httpx.AsyncClient, path: str
) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)
    response = await client.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "1048576" in response.json()["detail"]


async def test_a_chunked_body_over_1_mib_is_a_413(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65_536  # 1.25 MiB in all, no Content-Length

    response = await client.post(
        "/plugins/automation/webhook",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_a_body_at_the_limit_passes_on(tenant: TenantHandle) -> None:
    padding = " " * (MAX_BODY_BYTES - 200)
    body = f'{{"name": "Big"{padding}, "email": "big@example.com"}}'.encode()
    assert len(body) <= MAX_BODY_BYTES
    response = await tenant.http.post(
        "/api/customers", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "Big"


async def test_json_nested_500_deep_is_a_422_and_nothing_is_stored(tenant: TenantHandle) -> None:
    deep = "[" * 500 + "]" * 500
    body = f'{{"name": "Deep", "tags": {deep}}}'
    response = await tenant.http.post(
        "/api/customers", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body"]
    assert str(MAX_JSON_DEPTH) in problem["msg"]
    listed = await tenant.http.get("/api/customers")
    assert [item["name"] for item in listed.json()["items"]] == []


async def test_json_64_deep_is_read_as_usual(tenant: TenantHandle) -> None:
    nested = "[" * 62 + '"x"' + "]" * 62  # 63 levels with the body's object
    body = f'{{"name": "Fine", "tags": {nested}}}'.encode()
    assert json_depth(body) == 63
    response = await tenant.http.post(
        "/api/customers", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422  # tags must be strings: the usual validation answers
    assert response.json()["detail"][0]["loc"][:2] == ["body", "tags"]


def test_brackets_inside_strings_do_not_count() -> None:
    assert json_depth(b'{"a": "[[[{{{\\"[[[", "b": [1, [2]]}') == 3
    assert json_depth(b'["\\\\", [[]]]') == 3
