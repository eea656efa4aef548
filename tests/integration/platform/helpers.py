"""What the platform tests share: creating objects over HTTP, reading the outbox and the tables
directly (to prove what a request did or did not store), and the error shapes of the contract."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import func, select

from bettercallsold.bus.models import PlatformEvent
from bettercallsold.db.base import Base
from bettercallsold.runtime import Runtime


async def create(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def create_product(http: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Mug", "price": 19.99, **overrides}
    return await create(http, "/api/products", body)


async def create_customer(http: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "John Doe", "email": "john@example.com", **overrides}
    return await create(http, "/api/customers", body)


async def create_order(
    http: httpx.AsyncClient, customer_id: str, *items: tuple[str, int]
) -> dict[str, Any]:
    body = {
        "customer_id": customer_id,
        "items": [{"product_id": product, "quantity": quantity} for product, quantity in items],
    }
    return await create(http, "/api/orders", body)


async def events_of(
    runtime: Runtime, tenant_id: uuid.UUID, event_type: str | None = None
) -> list[PlatformEvent]:
    """The tenant's outbox rows, oldest first."""
    statement = select(PlatformEvent).where(PlatformEvent.tenant_id == tenant_id)
    if event_type is not None:
        statement = statement.where(PlatformEvent.event_type == event_type)
    statement = statement.order_by(PlatformEvent.occurred_at, PlatformEvent.id)
    async with runtime.sessionmaker() as session:
        return list((await session.scalars(statement)).all())


async def only_event(runtime: Runtime, tenant_id: uuid.UUID, event_type: str) -> PlatformEvent:
    found = await events_of(runtime, tenant_id, event_type)
    assert len(found) == 1, [event.event_type for event in found]
    return found[0]


async def count_rows(runtime: Runtime, model: type[Base], tenant_id: uuid.UUID) -> int:
    table: Any = model
    async with runtime.sessionmaker() as session:
        counted = await session.scalar(
            select(func.count()).select_from(table).where(table.tenant_id == tenant_id)
        )
    return int(counted or 0)


async def column_value(runtime: Runtime, column: Any, item_id: str) -> Any:
    """One column of one row, read straight from the table."""
    async with runtime.sessionmaker() as session:
        return await session.scalar(select(column).where(column.class_.id == uuid.UUID(item_id)))


def assert_event_carries(event: PlatformEvent, resource: dict[str, Any], id_key: str) -> None:
    """The contract's payload: the resource's fields plus its id as `<resource>_id`; a direct
    client write has causation depth 0 and no execution."""
    for field, value in resource.items():
        assert event.payload[field] == value, field
    assert event.payload[id_key] == resource["id"]
    assert event.causation_depth == 0
    assert event.causation_execution_id is None
    assert event.id.startswith("evt_")


def assert_unprocessable(response: httpx.Response, loc: Sequence[str | int]) -> None:
    """A 422 in FastAPI's shape, with one error naming `loc`."""
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, list)
    for error in detail:
        assert isinstance(error["loc"], list)
        assert isinstance(error["msg"], str)
        assert error["msg"]
        assert isinstance(error["type"], str)
    assert list(loc) in [error["loc"] for error in detail], detail


def assert_plain_error(response: httpx.Response, status_code: int) -> None:
    """Any other error: `{"detail": "<why>"}`."""
    assert response.status_code == status_code, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert detail


async def all_pages(
    http: httpx.AsyncClient, path: str, limit: int, **filters: str
) -> list[list[dict[str, Any]]]:
    """Follow `next_cursor` to the end; returns each page's items."""
    pages: list[list[dict[str, Any]]] = []
    params: dict[str, Any] = {"limit": limit, **filters}
    while True:
        response = await http.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"}
        pages.append(body["items"])
        if body["next_cursor"] is None:
            return pages
        assert len(pages) < 100, "pagination does not end"
        params = {"limit": limit, "cursor": body["next_cursor"], **filters}


async def assert_pages_through(
    http: httpx.AsyncClient, path: str, created: list[dict[str, Any]], limit: int
) -> None:
    """Every created item exactly once, newest first, in full pages but the last."""
    pages = await all_pages(http, path, limit)
    seen = [item["id"] for page in pages for item in page]
    assert len(seen) == len(set(seen)), "an item was repeated"
    assert seen == [item["id"] for item in reversed(created)]
    assert all(len(page) == limit for page in pages[:-1])
    assert 0 < len(pages[-1]) <= limit


def money(value: Any) -> Decimal:
    return Decimal(str(value))
