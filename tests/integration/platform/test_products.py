"""`/api/products`: CRUD, tenancy, validation, money, events and atomicity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bettercallsold.platform.products.models import Product
from bettercallsold.runtime import Runtime
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.platform.helpers import (
    all_pages,
    assert_event_carries,
    assert_pages_through,
    assert_plain_error,
    assert_unprocessable,
    column_value,
    count_rows,
    create_product,
    events_of,
    only_event,
)


class TestCreateProduct:
    async def test_answers_201_with_the_product_itself(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post(
            "/api/products",
            json={
                "name": "Mug",
                "price": 19.99,
                "description": "Stoneware",
                "sku": "MUG-1",
                "inventory": 4,
                "tags": ["kitchen"],
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert uuid.UUID(body["id"])
        assert body["name"] == "Mug"
        assert body["description"] == "Stoneware"
        assert body["sku"] == "MUG-1"
        assert body["inventory"] == 4
        assert body["tags"] == ["kitchen"]
        assert datetime.fromisoformat(body["created_at"]).tzinfo is not None

    async def test_price_is_a_json_number_with_two_places(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post("/api/products", json={"name": "Pen", "price": 19.99})
        assert '"price":19.99' in response.text
        assert isinstance(response.json()["price"], float)

    async def test_price_is_stored_as_an_exact_decimal(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        product = await create_product(tenant.http, price="0.10")
        assert await column_value(runtime, Product.price, product["id"]) == Decimal("0.10")

    async def test_optional_fields_default_to_empty(self, tenant: TenantHandle) -> None:
        product = await create_product(tenant.http)
        assert product["description"] is None
        assert product["sku"] is None
        assert product["inventory"] is None
        assert product["tags"] == []

    async def test_emits_product_created(self, tenant: TenantHandle, runtime: Runtime) -> None:
        product = await create_product(tenant.http, sku="A-1")
        event = await only_event(runtime, tenant.tenant_id, "product.created")
        assert_event_carries(event, product, "product_id")

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"price": 1}, ["body", "name"]),
            ({"name": "Mug"}, ["body", "price"]),
            ({"name": "Mug", "price": -0.01}, ["body", "price"]),
            ({"name": "Mug", "price": "cheap"}, ["body", "price"]),
            ({"name": "Mug", "price": 1.999}, ["body", "price"]),
            ({"name": "Mug", "price": 12345678901.5}, ["body", "price"]),
            ({"name": 42, "price": 1}, ["body", "name"]),
            ({"name": "  ", "price": 1}, ["body", "name"]),
            ({"name": "Mug", "price": 1, "inventory": -1}, ["body", "inventory"]),
            ({"name": "Mug", "price": 1, "inventory": "many"}, ["body", "inventory"]),
            ({"name": "Mug", "price": 1, "inventory": True}, ["body", "inventory"]),
            ({"name": "Mug", "price": 1, "inventory": "3"}, ["body", "inventory"]),
            ({"name": "Mug", "price": 1, "inventory": 2.5}, ["body", "inventory"]),
            ({"name": "Mug", "price": 1, "tags": "kitchen"}, ["body", "tags"]),
            ({"name": "Mug", "price": 1, "colour": "red"}, ["body", "colour"]),
            ({"name": "Mug\x00", "price": 1}, ["body", "name"]),
            ({"name": "Mug", "price": 1, "tags": ["a\x00"]}, ["body", "tags"]),
        ],
    )
    async def test_a_bad_body_is_422_naming_the_field_and_stores_nothing(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str]
    ) -> None:
        response = await tenant.http.post("/api/products", json=body)
        assert_unprocessable(response, loc)
        assert await count_rows(runtime, Product, tenant.tenant_id) == 0
        assert await events_of(runtime, tenant.tenant_id) == []

    async def test_a_duplicate_sku_is_409_and_stores_nothing(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        await create_product(tenant.http, sku="DUP")
        response = await tenant.http.post(
            "/api/products", json={"name": "Other", "price": 1, "sku": "DUP"}
        )
        assert_plain_error(response, 409)
        assert await count_rows(runtime, Product, tenant.tenant_id) == 1
        assert len(await events_of(runtime, tenant.tenant_id, "product.created")) == 1

    async def test_skus_are_unique_per_tenant_only(self, make_tenant: MakeTenant) -> None:
        first, second = await make_tenant(), await make_tenant()
        await create_product(first.http, sku="SHARED")
        await create_product(second.http, sku="SHARED")


class TestReadProduct:
    async def test_answers_200_with_the_product(self, tenant: TenantHandle) -> None:
        product = await create_product(tenant.http)
        response = await tenant.http.get(f"/api/products/{product['id']}")
        assert response.status_code == 200
        assert response.json() == product

    async def test_an_unknown_id_is_404(self, tenant: TenantHandle) -> None:
        response = await tenant.http.get(f"/api/products/{uuid.uuid4()}")
        assert_plain_error(response, 404)

    async def test_a_malformed_id_is_422(self, tenant: TenantHandle) -> None:
        response = await tenant.http.get("/api/products/not-a-uuid")
        assert_unprocessable(response, ["path", "product_id"])


class TestUpdateProduct:
    async def test_changes_only_the_given_fields(self, tenant: TenantHandle) -> None:
        product = await create_product(tenant.http, sku="S-1", tags=["a"], inventory=3)
        response = await tenant.http.put(f"/api/products/{product['id']}", json={"price": 5.5})
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["price"] == 5.5
        unchanged = {"price", "updated_at"}
        assert {k: v for k, v in updated.items() if k not in unchanged} == {
            k: v for k, v in product.items() if k not in unchanged
        }
        assert updated["updated_at"] > product["updated_at"]
        fetched = await tenant.http.get(f"/api/products/{product['id']}")
        assert fetched.json() == updated

    async def test_null_clears_an_optional_field(self, tenant: TenantHandle) -> None:
        product = await create_product(tenant.http, description="old", inventory=2)
        response = await tenant.http.put(
            f"/api/products/{product['id']}", json={"description": None, "inventory": None}
        )
        assert response.json()["description"] is None
        assert response.json()["inventory"] is None

    async def test_emits_product_updated(self, tenant: TenantHandle, runtime: Runtime) -> None:
        product = await create_product(tenant.http)
        response = await tenant.http.put(f"/api/products/{product['id']}", json={"name": "Cup"})
        event = await only_event(runtime, tenant.tenant_id, "product.updated")
        assert_event_carries(event, response.json(), "product_id")

    async def test_a_bad_body_is_422_and_changes_nothing(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        product = await create_product(tenant.http, price=3)
        response = await tenant.http.put(f"/api/products/{product['id']}", json={"price": -3})
        assert_unprocessable(response, ["body", "price"])
        assert await column_value(runtime, Product.price, product["id"]) == Decimal("3.00")
        assert await events_of(runtime, tenant.tenant_id, "product.updated") == []

    async def test_null_tags_clear_them(self, tenant: TenantHandle) -> None:
        product = await create_product(tenant.http, tags=["kitchen"])
        response = await tenant.http.put(f"/api/products/{product['id']}", json={"tags": None})
        assert response.status_code == 200
        assert response.json()["tags"] == []
        assert (await tenant.http.get(f"/api/products/{product['id']}")).json()["tags"] == []

    @pytest.mark.parametrize("field", ["name", "price"])
    async def test_null_for_a_required_field_is_422_and_changes_nothing(
        self, tenant: TenantHandle, runtime: Runtime, field: str
    ) -> None:
        """Leaving a field out keeps it; null cannot mean "keep" (nor clear a required field)."""
        product = await create_product(tenant.http, name="Mug", price=3)
        response = await tenant.http.put(f"/api/products/{product['id']}", json={field: None})
        assert_unprocessable(response, ["body", field])
        assert await column_value(runtime, Product.name, product["id"]) == "Mug"
        assert await events_of(runtime, tenant.tenant_id, "product.updated") == []

    async def test_taking_another_products_sku_is_409_and_changes_nothing(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        await create_product(tenant.http, sku="TAKEN")
        product = await create_product(tenant.http, sku="MINE")
        response = await tenant.http.put(f"/api/products/{product['id']}", json={"sku": "TAKEN"})
        assert_plain_error(response, 409)
        assert await column_value(runtime, Product.sku, product["id"]) == "MINE"
        assert await events_of(runtime, tenant.tenant_id, "product.updated") == []

    async def test_an_unknown_id_is_404(self, tenant: TenantHandle) -> None:
        response = await tenant.http.put(f"/api/products/{uuid.uuid4()}", json={"name": "X"})
        assert_plain_error(response, 404)


class TestDeleteProduct:
    async def test_answers_204_and_the_product_is_gone(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        product = await create_product(tenant.http)
        response = await tenant.http.delete(f"/api/products/{product['id']}")
        assert response.status_code == 204
        assert response.content == b""
        assert (await tenant.http.get(f"/api/products/{product['id']}")).status_code == 404
        assert await count_rows(runtime, Product, tenant.tenant_id) == 0

    async def test_emits_product_deleted_with_its_last_state(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        product = await create_product(tenant.http, sku="GONE")
        await tenant.http.delete(f"/api/products/{product['id']}")
        event = await only_event(runtime, tenant.tenant_id, "product.deleted")
        assert_event_carries(event, product, "product_id")

    async def test_deleting_twice_is_404(self, tenant: TenantHandle) -> None:
        product = await create_product(tenant.http)
        await tenant.http.delete(f"/api/products/{product['id']}")
        assert_plain_error(await tenant.http.delete(f"/api/products/{product['id']}"), 404)


class TestListProducts:
    async def test_pages_through_every_product_once(self, tenant: TenantHandle) -> None:
        created = [await create_product(tenant.http, name=f"P{i}") for i in range(7)]
        await assert_pages_through(tenant.http, "/api/products", created, limit=3)

    async def test_the_default_page_holds_them_all(self, tenant: TenantHandle) -> None:
        created = [await create_product(tenant.http, name=f"P{i}") for i in range(3)]
        response = await tenant.http.get("/api/products")
        assert response.json() == {"items": list(reversed(created)), "next_cursor": None}

    async def test_rows_created_at_the_same_instant_are_not_skipped(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        instant = datetime(2026, 1, 1, tzinfo=UTC)
        async with runtime.sessionmaker() as session, session.begin():
            for index in range(5):
                session.add(
                    Product(
                        tenant_id=tenant.tenant_id,
                        name=f"P{index}",
                        price=Decimal(1),
                        tags=[],
                        created_at=instant,
                    )
                )
        pages = await all_pages(tenant.http, "/api/products", limit=2)
        ids = [item["id"] for page in pages for item in page]
        assert len(ids) == len(set(ids)) == 5
        assert [len(page) for page in pages] == [2, 2, 1]

    @pytest.mark.parametrize("cursor", ["not-a-cursor", "e30", "W1tdLCIxIl0", "%00"])
    async def test_an_invalid_cursor_is_422(self, tenant: TenantHandle, cursor: str) -> None:
        response = await tenant.http.get("/api/products", params={"cursor": cursor})
        assert_unprocessable(response, ["query", "cursor"])

    @pytest.mark.parametrize("limit", [0, 201, "ten"])
    async def test_an_out_of_range_limit_is_422(
        self, tenant: TenantHandle, limit: int | str
    ) -> None:
        response = await tenant.http.get("/api/products", params={"limit": limit})
        assert_unprocessable(response, ["query", "limit"])


class TestAnotherTenantsProduct:
    async def test_is_invisible_everywhere(self, make_tenant: MakeTenant, runtime: Runtime) -> None:
        owner, other = await make_tenant(), await make_tenant()
        product = await create_product(owner.http, name="Secret")
        path = f"/api/products/{product['id']}"

        assert_plain_error(await other.http.get(path), 404)
        assert_plain_error(await other.http.put(path, json={"name": "Stolen"}), 404)
        assert_plain_error(await other.http.delete(path), 404)
        assert (await other.http.get("/api/products")).json()["items"] == []

        assert (await owner.http.get(path)).json() == product
        assert await events_of(runtime, other.tenant_id) == []
        assert [e.event_type for e in await events_of(runtime, owner.tenant_id)] == [
            "product.created"
        ]
