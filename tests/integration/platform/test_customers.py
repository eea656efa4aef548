"""`/api/customers`: create, read, update, list, tenancy, validation and events."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bettercallsold.platform.customers.models import Customer
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
    events_of,
    only_event,
)


class TestCreateCustomer:
    async def test_answers_201_with_the_customer_itself(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post(
            "/api/customers",
            json={
                "name": "John Doe",
                "email": "john@example.com",
                "phone": "+1 555 0100",
                "tags": ["vip"],
            },
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert uuid.UUID(body["id"])
        assert body["name"] == "John Doe"
        assert body["email"] == "john@example.com"
        assert body["phone"] == "+1 555 0100"
        assert body["tags"] == ["vip"]

    async def test_only_the_name_is_required(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post("/api/customers", json={"name": "Walk-in"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["email"], body["phone"], body["tags"]) == (None, None, [])

    async def test_emits_customer_created(self, tenant: TenantHandle, runtime: Runtime) -> None:
        customer = await create_customer(tenant.http)
        event = await only_event(runtime, tenant.tenant_id, "customer.created")
        assert_event_carries(event, customer, "customer_id")
        assert event.payload["email"] == "john@example.com"
        assert event.payload["name"] == "John Doe"

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({}, ["body", "name"]),
            ({"email": "a@example.com"}, ["body", "name"]),
            ({"name": ["John"]}, ["body", "name"]),
            ({"name": ""}, ["body", "name"]),
            ({"name": "John", "email": "not-an-email"}, ["body", "email"]),
            ({"name": "John", "email": 7}, ["body", "email"]),
            ({"name": "John", "phone": "call me"}, ["body", "phone"]),
            ({"name": "John", "tags": [1, 2]}, ["body", "tags", 0]),
            ({"name": "John", "tenant_id": str(uuid.uuid4())}, ["body", "tenant_id"]),
            ({"name": "Jo\x00hn"}, ["body", "name"]),
        ],
    )
    async def test_a_bad_body_is_422_naming_the_field_and_stores_nothing(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str | int]
    ) -> None:
        response = await tenant.http.post("/api/customers", json=body)
        assert_unprocessable(response, loc)
        assert await count_rows(runtime, Customer, tenant.tenant_id) == 0
        assert await events_of(runtime, tenant.tenant_id) == []

    async def test_a_body_that_is_not_utf8_is_400(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post(
            "/api/customers", content=b"\xff{", headers={"content-type": "application/json"}
        )
        assert_plain_error(response, 400)

    async def test_a_body_that_is_not_json_is_422(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post(
            "/api/customers", content=b"{name", headers={"content-type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == "json_invalid"


class TestReadCustomer:
    async def test_answers_200_with_the_customer(self, tenant: TenantHandle) -> None:
        customer = await create_customer(tenant.http)
        response = await tenant.http.get(f"/api/customers/{customer['id']}")
        assert response.status_code == 200
        assert response.json() == customer

    async def test_an_unknown_id_is_404(self, tenant: TenantHandle) -> None:
        assert_plain_error(await tenant.http.get(f"/api/customers/{uuid.uuid4()}"), 404)

    async def test_customers_cannot_be_deleted(self, tenant: TenantHandle) -> None:
        customer = await create_customer(tenant.http)
        response = await tenant.http.delete(f"/api/customers/{customer['id']}")
        assert response.status_code == 405
        assert (await tenant.http.get(f"/api/customers/{customer['id']}")).status_code == 200


class TestUpdateCustomer:
    async def test_changes_only_the_given_fields(self, tenant: TenantHandle) -> None:
        customer = await create_customer(tenant.http, phone="555 0100", tags=["a"])
        response = await tenant.http.put(
            f"/api/customers/{customer['id']}", json={"name": "Jane Doe"}
        )
        assert response.status_code == 200, response.text
        updated = response.json()
        assert updated["name"] == "Jane Doe"
        for field in ("id", "email", "phone", "tags", "created_at"):
            assert updated[field] == customer[field]
        assert (await tenant.http.get(f"/api/customers/{customer['id']}")).json() == updated

    async def test_null_clears_the_email(self, tenant: TenantHandle, runtime: Runtime) -> None:
        customer = await create_customer(tenant.http)
        response = await tenant.http.put(f"/api/customers/{customer['id']}", json={"email": None})
        assert response.json()["email"] is None
        assert await column_value(runtime, Customer.email, customer["id"]) is None

    async def test_emits_customer_updated(self, tenant: TenantHandle, runtime: Runtime) -> None:
        customer = await create_customer(tenant.http)
        response = await tenant.http.put(
            f"/api/customers/{customer['id']}", json={"email": "new@example.com"}
        )
        event = await only_event(runtime, tenant.tenant_id, "customer.updated")
        assert_event_carries(event, response.json(), "customer_id")
        assert event.payload["email"] == "new@example.com"

    async def test_a_bad_body_is_422_and_changes_nothing(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        response = await tenant.http.put(f"/api/customers/{customer['id']}", json={"email": "nope"})
        assert_unprocessable(response, ["body", "email"])
        assert await column_value(runtime, Customer.email, customer["id"]) == "john@example.com"
        assert await events_of(runtime, tenant.tenant_id, "customer.updated") == []

    async def test_null_tags_clear_them(self, tenant: TenantHandle) -> None:
        customer = await create_customer(tenant.http, tags=["vip"])
        response = await tenant.http.put(f"/api/customers/{customer['id']}", json={"tags": None})
        assert response.status_code == 200
        assert response.json()["tags"] == []

    async def test_a_null_name_is_422_and_changes_nothing(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        customer = await create_customer(tenant.http)
        response = await tenant.http.put(f"/api/customers/{customer['id']}", json={"name": None})
        assert_unprocessable(response, ["body", "name"])
        assert await column_value(runtime, Customer.name, customer["id"]) == customer["name"]
        assert await events_of(runtime, tenant.tenant_id, "customer.updated") == []

    async def test_an_unknown_id_is_404(self, tenant: TenantHandle) -> None:
        response = await tenant.http.put(f"/api/customers/{uuid.uuid4()}", json={"name": "X"})
        assert_plain_error(response, 404)


class TestListCustomers:
    async def test_pages_through_every_customer_once(self, tenant: TenantHandle) -> None:
        created = [await create_customer(tenant.http, name=f"C{i}") for i in range(5)]
        await assert_pages_through(tenant.http, "/api/customers", created, limit=2)

    async def test_an_empty_list_has_no_cursor(self, tenant: TenantHandle) -> None:
        response = await tenant.http.get("/api/customers")
        assert response.json() == {"items": [], "next_cursor": None}


class TestAnotherTenantsCustomer:
    async def test_is_invisible_and_unchangeable(
        self, make_tenant: MakeTenant, runtime: Runtime
    ) -> None:
        owner, other = await make_tenant(), await make_tenant()
        customer = await create_customer(owner.http)
        path = f"/api/customers/{customer['id']}"

        assert_plain_error(await other.http.get(path), 404)
        assert_plain_error(await other.http.put(path, json={"name": "Mallory"}), 404)
        assert (await other.http.get("/api/customers")).json()["items"] == []

        assert (await owner.http.get(path)).json() == customer
        assert await events_of(runtime, other.tenant_id) == []
        assert await events_of(runtime, owner.tenant_id, "customer.updated") == []
