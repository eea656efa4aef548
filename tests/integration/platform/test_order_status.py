"""`PUT /api/orders/{id}/status`: every allowed move over HTTP, every forbidden one a 409."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bettercallsold.platform.orders.models import Order
from bettercallsold.runtime import Runtime
from tests.integration.conftest import TenantHandle
from tests.integration.platform.helpers import (
    assert_event_carries,
    assert_plain_error,
    assert_unprocessable,
    column_value,
    create_customer,
    create_order,
    create_product,
    events_of,
)

STATUSES = ["pending", "paid", "fulfilled", "delivered", "cancelled"]
ALLOWED = {
    ("pending", "paid"),
    ("paid", "fulfilled"),
    ("fulfilled", "delivered"),
    ("pending", "cancelled"),
    ("paid", "cancelled"),
}
# The moves that bring a new order (pending) to each status.
ROUTE_TO = {
    "pending": [],
    "paid": ["paid"],
    "fulfilled": ["paid", "fulfilled"],
    "delivered": ["paid", "fulfilled", "delivered"],
    "cancelled": ["cancelled"],
}
FORBIDDEN = [(a, b) for a in STATUSES for b in STATUSES if (a, b) not in ALLOWED]


async def _new_order(tenant: TenantHandle) -> dict[str, Any]:
    customer = await create_customer(tenant.http)
    product = await create_product(tenant.http, price=19.99)
    return await create_order(tenant.http, customer["id"], (product["id"], 3))


async def _move(tenant: TenantHandle, order_id: str, status: str) -> dict[str, Any]:
    response = await tenant.http.put(f"/api/orders/{order_id}/status", json={"status": status})
    assert response.status_code == 200, response.text
    moved: dict[str, Any] = response.json()
    return moved


class TestAllowedMoves:
    async def test_the_happy_path_ends_delivered(self, tenant: TenantHandle) -> None:
        order = await _new_order(tenant)
        for status in ("paid", "fulfilled", "delivered"):
            moved = await _move(tenant, order["id"], status)
            assert moved["status"] == status
            assert moved["total"] == 59.97
            assert moved["items"] == order["items"]
        fetched = await tenant.http.get(f"/api/orders/{order['id']}")
        assert fetched.json()["status"] == "delivered"

    @pytest.mark.parametrize("start", ["pending", "paid"])
    async def test_cancelling_from_pending_or_paid(self, tenant: TenantHandle, start: str) -> None:
        order = await _new_order(tenant)
        for status in ROUTE_TO[start]:
            await _move(tenant, order["id"], status)
        assert (await _move(tenant, order["id"], "cancelled"))["status"] == "cancelled"

    async def test_each_move_emits_status_changed_with_both_statuses(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        order = await _new_order(tenant)
        answers = [await _move(tenant, order["id"], s) for s in ("paid", "fulfilled", "delivered")]
        events = await events_of(runtime, tenant.tenant_id, "order.status_changed")
        assert [(e.payload["from_status"], e.payload["status"]) for e in events] == [
            ("pending", "paid"),
            ("paid", "fulfilled"),
            ("fulfilled", "delivered"),
        ]
        for event, answer in zip(events, answers, strict=True):
            assert_event_carries(event, answer, "order_id")


class TestForbiddenMoves:
    @pytest.mark.parametrize(
        ("start", "target"), FORBIDDEN, ids=[f"{a}->{b}" for a, b in FORBIDDEN]
    )
    async def test_is_409_and_changes_nothing(
        self, tenant: TenantHandle, runtime: Runtime, start: str, target: str
    ) -> None:
        order = await _new_order(tenant)
        for status in ROUTE_TO[start]:
            await _move(tenant, order["id"], status)
        before = len(await events_of(runtime, tenant.tenant_id, "order.status_changed"))

        response = await tenant.http.put(
            f"/api/orders/{order['id']}/status", json={"status": target}
        )

        assert_plain_error(response, 409)
        assert await column_value(runtime, Order.status, order["id"]) == start
        after = await events_of(runtime, tenant.tenant_id, "order.status_changed")
        assert len(after) == before


class TestInvalidStatusBody:
    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"status": "shipped"}, ["body", "status"]),
            ({"status": "PAID"}, ["body", "status"]),
            ({"status": 1}, ["body", "status"]),
            ({}, ["body", "status"]),
            ({"status": "paid", "state": "paid"}, ["body", "state"]),
        ],
    )
    async def test_is_422_naming_the_field(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str]
    ) -> None:
        order = await _new_order(tenant)
        response = await tenant.http.put(f"/api/orders/{order['id']}/status", json=body)
        assert_unprocessable(response, loc)
        assert await column_value(runtime, Order.status, order["id"]) == "pending"
        assert await events_of(runtime, tenant.tenant_id, "order.status_changed") == []

    async def test_an_unknown_order_is_404(self, tenant: TenantHandle) -> None:
        response = await tenant.http.put(
            f"/api/orders/{uuid.uuid4()}/status", json={"status": "paid"}
        )
        assert_plain_error(response, 404)
