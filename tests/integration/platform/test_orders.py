"""`/api/orders`: totals, inventory, references, tenancy, events and atomicity.

The status state machine is in `test_order_status.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import Any

import pytest

from bettercallsold.platform.orders.models import Order
from bettercallsold.platform.products.models import Product
from bettercallsold.runtime import Runtime
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.platform.helpers import (
    assert_event_carries,
    assert_pages_through,
    assert_plain_error,
    assert_unprocessable,
    column_value,
    count_rows,
    create_customer,
    create_order,
    create_product,
    events_of,
    only_event,
)


class TestCreateOrder:
    async def test_answers_201_with_a_pending_order_and_its_total(
        self, tenant: TenantHandle
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http, price=19.99, sku="MUG")
        response = await tenant.http.post(
            "/api/orders",
            json={
                "customer_id": customer["id"],
                "items": [{"product_id": product["id"], "quantity": 3}],
            },
        )
        assert response.status_code == 201, response.text
        order = response.json()
        assert uuid.UUID(order["id"])
        assert order["customer_id"] == customer["id"]
        assert order["status"] == "pending"
        assert order["total"] == 59.97
        assert '"total":59.97' in response.text
        assert order["items"] == [
            {
                "product_id": product["id"],
                "name": "Mug",
                "sku": "MUG",
                "quantity": 3,
                "unit_price": 19.99,
                "line_total": 59.97,
            }
        ]

    @pytest.mark.parametrize(
        ("lines", "total"),
        [
            ([("19.99", 3)], "59.97"),
            ([("0.10", 3)], "0.30"),
            ([("19.99", 3), ("0.01", 2), ("100.00", 1)], "159.99"),
            ([("0.00", 5)], "0.00"),
            ([("9999999999.99", 1)], "9999999999.99"),
        ],
    )
    async def test_totals_are_exact_decimals(
        self,
        tenant: TenantHandle,
        runtime: Runtime,
        lines: list[tuple[str, int]],
        total: str,
    ) -> None:
        customer = await create_customer(tenant.http)
        items = [
            ((await create_product(tenant.http, price=price))["id"], quantity)
            for price, quantity in lines
        ]
        order = await create_order(tenant.http, customer["id"], *items)
        assert order["total"] == float(total)
        assert await column_value(runtime, Order.total, order["id"]) == Decimal(total)

    async def test_reserves_tracked_inventory_only(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        tracked = await create_product(tenant.http, inventory=10)
        untracked = await create_product(tenant.http)
        await create_order(tenant.http, customer["id"], (tracked["id"], 3), (untracked["id"], 2))
        assert await column_value(runtime, Product.inventory, tracked["id"]) == 7
        assert await column_value(runtime, Product.inventory, untracked["id"]) is None

    async def test_emits_order_created(self, tenant: TenantHandle, runtime: Runtime) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http)
        order = await create_order(tenant.http, customer["id"], (product["id"], 1))
        event = await only_event(runtime, tenant.tenant_id, "order.created")
        assert_event_carries(event, order, "order_id")
        assert event.payload["status"] == "pending"
        assert event.payload["total"] == 19.99

    async def test_keeps_what_was_bought_when_the_product_changes(
        self, tenant: TenantHandle
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http, price=5)
        order = await create_order(tenant.http, customer["id"], (product["id"], 2))
        await tenant.http.put(f"/api/products/{product['id']}", json={"price": 7, "name": "New"})
        await tenant.http.delete(f"/api/products/{product['id']}")
        fetched = (await tenant.http.get(f"/api/orders/{order['id']}")).json()
        assert fetched["total"] == 10
        assert fetched["items"][0]["name"] == "Mug"
        assert fetched["items"][0]["unit_price"] == 5


CUSTOMER, PRODUCT = "<customer>", "<product>"
"""Placeholders for the ids of a real customer and product, filled in by the test."""


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_fill(item, ids) for item in value]
    return ids.get(value, value) if isinstance(value, str) else value


def _line(**fields: Any) -> dict[str, Any]:
    return {"product_id": PRODUCT, "quantity": 1, **fields}


class TestInvalidOrder:
    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"items": [_line()]}, ["body", "customer_id"]),
            ({"customer_id": "nope", "items": [_line()]}, ["body", "customer_id"]),
            ({"customer_id": CUSTOMER}, ["body", "items"]),
            ({"customer_id": CUSTOMER, "items": []}, ["body", "items"]),
            ({"customer_id": CUSTOMER, "items": "all"}, ["body", "items"]),
            (
                {"customer_id": CUSTOMER, "items": [{"quantity": 1}]},
                ["body", "items", 0, "product_id"],
            ),
            (
                {"customer_id": CUSTOMER, "items": [{"product_id": PRODUCT}]},
                ["body", "items", 0, "quantity"],
            ),
            (
                {"customer_id": CUSTOMER, "items": [_line(quantity=0)]},
                ["body", "items", 0, "quantity"],
            ),
            (
                {"customer_id": CUSTOMER, "items": [_line(quantity=True)]},
                ["body", "items", 0, "quantity"],
            ),
            (
                {"customer_id": CUSTOMER, "items": [_line(quantity="2")]},
                ["body", "items", 0, "quantity"],
            ),
            (
                {"customer_id": CUSTOMER, "items": [_line(quantity=-2)]},
                ["body", "items", 0, "quantity"],
            ),
            (
                {"customer_id": CUSTOMER, "items": [_line(quantity="two")]},
                ["body", "items", 0, "quantity"],
            ),
            (
                {"customer_id": CUSTOMER, "items": [_line(), _line(quantity=1.5)]},
                ["body", "items", 1, "quantity"],
            ),
            ({"customer_id": CUSTOMER, "items": [_line()], "total": 0}, ["body", "total"]),
        ],
    )
    async def test_a_bad_body_is_422_naming_the_field(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str | int]
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http, inventory=5)
        filled = _fill(body, {CUSTOMER: customer["id"], PRODUCT: product["id"]})
        response = await tenant.http.post("/api/orders", json=filled)
        assert_unprocessable(response, loc)
        assert await count_rows(runtime, Order, tenant.tenant_id) == 0
        assert await events_of(runtime, tenant.tenant_id, "order.created") == []
        assert await column_value(runtime, Product.inventory, product["id"]) == 5

    async def test_a_missing_product_stores_nothing_and_reserves_nothing(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http, inventory=5)
        response = await tenant.http.post(
            "/api/orders",
            json={
                "customer_id": customer["id"],
                "items": [
                    {"product_id": product["id"], "quantity": 2},
                    {"product_id": str(uuid.uuid4()), "quantity": 1},
                ],
            },
        )
        assert_unprocessable(response, ["body", "items", 1, "product_id"])
        assert await count_rows(runtime, Order, tenant.tenant_id) == 0
        assert await events_of(runtime, tenant.tenant_id, "order.created") == []
        assert await column_value(runtime, Product.inventory, product["id"]) == 5

    async def test_another_tenants_product_is_422(
        self, make_tenant: MakeTenant, runtime: Runtime
    ) -> None:
        buyer, other = await make_tenant(), await make_tenant()
        customer = await create_customer(buyer.http)
        foreign = await create_product(other.http, inventory=5)
        response = await buyer.http.post(
            "/api/orders",
            json={
                "customer_id": customer["id"],
                "items": [{"product_id": foreign["id"], "quantity": 1}],
            },
        )
        assert_unprocessable(response, ["body", "items", 0, "product_id"])
        assert await count_rows(runtime, Order, buyer.tenant_id) == 0
        assert await column_value(runtime, Product.inventory, foreign["id"]) == 5

    @pytest.mark.parametrize("whose", ["missing", "another tenant's"])
    async def test_a_customer_not_of_this_tenant_is_422(
        self, make_tenant: MakeTenant, runtime: Runtime, whose: str
    ) -> None:
        buyer, other = await make_tenant(), await make_tenant()
        product = await create_product(buyer.http, inventory=5)
        customer_id = (
            (await create_customer(other.http))["id"]
            if whose == "another tenant's"
            else str(uuid.uuid4())
        )
        response = await buyer.http.post(
            "/api/orders",
            json={
                "customer_id": customer_id,
                "items": [{"product_id": product["id"], "quantity": 1}],
            },
        )
        assert_unprocessable(response, ["body", "customer_id"])
        assert await count_rows(runtime, Order, buyer.tenant_id) == 0
        assert await events_of(runtime, buyer.tenant_id, "order.created") == []
        assert await column_value(runtime, Product.inventory, product["id"]) == 5

    async def test_more_than_the_stock_is_422_and_reserves_nothing(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http, inventory=3)
        response = await tenant.http.post(
            "/api/orders",
            json={
                "customer_id": customer["id"],
                "items": [
                    {"product_id": product["id"], "quantity": 2},
                    {"product_id": product["id"], "quantity": 2},
                ],
            },
        )
        assert_unprocessable(response, ["body", "items", 1, "quantity"])
        assert await column_value(runtime, Product.inventory, product["id"]) == 3
        assert await count_rows(runtime, Order, tenant.tenant_id) == 0

    async def test_a_total_beyond_the_money_range_is_422(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http, price=9999999999.99)
        response = await tenant.http.post(
            "/api/orders",
            json={
                "customer_id": customer["id"],
                "items": [{"product_id": product["id"], "quantity": 1000}],
            },
        )
        assert_unprocessable(response, ["body", "items"])
        assert await count_rows(runtime, Order, tenant.tenant_id) == 0


class TestConcurrentOrders:
    async def test_never_sell_more_than_the_stock(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http, inventory=5)
        body = {
            "customer_id": customer["id"],
            "items": [{"product_id": product["id"], "quantity": 1}],
        }
        responses = await asyncio.gather(
            *(tenant.http.post("/api/orders", json=body) for _ in range(12))
        )
        assert sorted(response.status_code for response in responses) == [201] * 5 + [422] * 7
        assert await column_value(runtime, Product.inventory, product["id"]) == 0
        assert await count_rows(runtime, Order, tenant.tenant_id) == 5
        assert len(await events_of(runtime, tenant.tenant_id, "order.created")) == 5

    async def test_one_of_two_racing_status_moves_wins(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http)
        order = await create_order(tenant.http, customer["id"], (product["id"], 1))
        path = f"/api/orders/{order['id']}/status"
        responses = await asyncio.gather(
            tenant.http.put(path, json={"status": "paid"}),
            tenant.http.put(path, json={"status": "paid"}),
        )
        assert sorted(response.status_code for response in responses) == [200, 409]
        assert len(await events_of(runtime, tenant.tenant_id, "order.status_changed")) == 1


class TestReadOrder:
    async def test_answers_200_with_the_order(self, tenant: TenantHandle) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http)
        order = await create_order(tenant.http, customer["id"], (product["id"], 2))
        response = await tenant.http.get(f"/api/orders/{order['id']}")
        assert response.status_code == 200
        assert response.json() == order

    async def test_an_unknown_id_is_404(self, tenant: TenantHandle) -> None:
        assert_plain_error(await tenant.http.get(f"/api/orders/{uuid.uuid4()}"), 404)

    async def test_orders_cannot_be_deleted_or_replaced(self, tenant: TenantHandle) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http)
        order = await create_order(tenant.http, customer["id"], (product["id"], 1))
        assert (await tenant.http.delete(f"/api/orders/{order['id']}")).status_code == 405
        assert (await tenant.http.put(f"/api/orders/{order['id']}", json={})).status_code == 405


class TestListOrders:
    async def test_pages_through_every_order_once(self, tenant: TenantHandle) -> None:
        customer = await create_customer(tenant.http)
        product = await create_product(tenant.http)
        created = [
            await create_order(tenant.http, customer["id"], (product["id"], quantity))
            for quantity in range(1, 6)
        ]
        await assert_pages_through(tenant.http, "/api/orders", created, limit=2)


class TestAnotherTenantsOrder:
    async def test_is_invisible_and_unchangeable(
        self, make_tenant: MakeTenant, runtime: Runtime
    ) -> None:
        owner, other = await make_tenant(), await make_tenant()
        customer = await create_customer(owner.http)
        product = await create_product(owner.http)
        order = await create_order(owner.http, customer["id"], (product["id"], 1))
        path = f"/api/orders/{order['id']}"

        assert_plain_error(await other.http.get(path), 404)
        assert_plain_error(await other.http.put(f"{path}/status", json={"status": "paid"}), 404)
        assert (await other.http.get("/api/orders")).json()["items"] == []

        assert (await owner.http.get(path)).json()["status"] == "pending"
        assert await events_of(runtime, other.tenant_id) == []
        assert await events_of(runtime, owner.tenant_id, "order.status_changed") == []
