"""Bearer authentication on every platform endpoint: the tenant comes from the token only."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from bettercallsold.platform.customers.models import Customer
from bettercallsold.platform.products.models import Product
from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import sign_assertion
from bettercallsold.types import Causation, TenantContext
from tests.integration.conftest import TenantHandle
from tests.integration.platform.helpers import (
    assert_plain_error,
    column_value,
    count_rows,
    create_product,
    events_of,
    only_event,
)

SOME_ID = str(uuid.uuid4())
# Every platform operation, each with a body it would accept from an authenticated tenant.
OPERATIONS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", "/api/products", {"name": "Mug", "price": 1}),
    ("GET", "/api/products", None),
    ("GET", f"/api/products/{SOME_ID}", None),
    ("PUT", f"/api/products/{SOME_ID}", {"name": "Cup"}),
    ("DELETE", f"/api/products/{SOME_ID}", None),
    ("POST", "/api/customers", {"name": "Ann"}),
    ("GET", "/api/customers", None),
    ("GET", f"/api/customers/{SOME_ID}", None),
    ("PUT", f"/api/customers/{SOME_ID}", {"name": "Ann"}),
    ("POST", "/api/orders", {"customer_id": SOME_ID, "items": []}),
    ("GET", "/api/orders", None),
    ("GET", f"/api/orders/{SOME_ID}", None),
    ("PUT", f"/api/orders/{SOME_ID}/status", {"status": "paid"}),
    ("POST", "/api/notifications/email", {"to": "a@example.com", "subject": "Hi"}),
    ("POST", "/api/notifications/sms", {"to": "+15550100", "message": "Hi"}),
    ("POST", "/api/notifications", {"message": "Hi", "channel": "slack"}),
    ("GET", "/api/notifications", None),
    ("GET", f"/api/notifications/{SOME_ID}", None),
    ("POST", "/api/tasks", {"title": "Call"}),
    ("GET", "/api/tasks", None),
    ("GET", f"/api/tasks/{SOME_ID}", None),
    ("POST", f"/api/tasks/{SOME_ID}/assign", {"assignee": "bo"}),
]
IDS = [f"{method} {path.replace(SOME_ID, '{id}')}" for method, path, _ in OPERATIONS]
BAD_CREDENTIALS = [
    pytest.param({}, id="no header"),
    pytest.param({"Authorization": "Bearer bcs_not-a-real-token"}, id="unknown token"),
    pytest.param({"Authorization": "Bearer "}, id="empty token"),
    pytest.param({"Authorization": "Basic dXNlcjpwdw=="}, id="basic scheme"),
    pytest.param({"Authorization": "Bearer svc.forged.assertion"}, id="forged assertion"),
]


class TestWithoutAValidToken:
    @pytest.mark.parametrize("headers", BAD_CREDENTIALS)
    @pytest.mark.parametrize(("method", "path", "body"), OPERATIONS, ids=IDS)
    async def test_every_endpoint_is_401(
        self,
        client: httpx.AsyncClient,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        headers: dict[str, str],
    ) -> None:
        response = await client.request(method, path, json=body, headers=headers)
        assert_plain_error(response, 401)

    async def test_a_refused_write_stores_nothing(
        self, client: httpx.AsyncClient, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        response = await client.post(
            "/api/products",
            json={"name": "Mug", "price": 1},
            headers={"Authorization": f"Bearer {tenant.token}x"},
        )
        assert_plain_error(response, 401)
        assert await count_rows(runtime, Product, tenant.tenant_id) == 0
        assert await events_of(runtime, tenant.tenant_id) == []

    async def test_authentication_comes_before_validation(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/products", json={"price": -1})
        assert_plain_error(response, 401)

    async def test_an_assertion_signed_with_another_key_is_401(
        self, client: httpx.AsyncClient, tenant: TenantHandle
    ) -> None:
        forged = sign_assertion(
            "not-the-deployment-key",
            TenantContext(tenant.tenant_id),
            method="GET",
            path="/api/products",
        )
        response = await client.get("/api/products", headers={"Authorization": f"Bearer {forged}"})
        assert_plain_error(response, 401)


class TestWithAValidToken:
    async def test_the_tenant_is_the_tokens(self, tenant: TenantHandle, runtime: Runtime) -> None:
        product = await create_product(tenant.http)
        assert await column_value(runtime, Product.tenant_id, product["id"]) == tenant.tenant_id

    async def test_the_scheme_is_case_insensitive(
        self, client: httpx.AsyncClient, tenant: TenantHandle
    ) -> None:
        response = await client.get(
            "/api/products", headers={"Authorization": f"bearer {tenant.token}"}
        )
        assert response.status_code == 200

    async def test_a_body_cannot_name_another_tenant(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        response = await tenant.http.post(
            "/api/customers", json={"name": "Ann", "tenant_id": str(uuid.uuid4())}
        )
        assert response.status_code == 422
        assert await count_rows(runtime, Customer, tenant.tenant_id) == 0


class TestServiceAssertion:
    """How the event receiver acts for an execution's tenant: its writes carry the causation."""

    async def test_acts_as_the_tenant_and_marks_the_event_as_caused(
        self, client: httpx.AsyncClient, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        secret = runtime.settings.secret_key
        assert secret is not None
        execution_id = uuid.uuid4()
        context = TenantContext(tenant.tenant_id, Causation(execution_id, depth=2))
        assertion = sign_assertion(
            secret.get_secret_value(), context, method="POST", path="/api/customers"
        )

        response = await client.post(
            "/api/customers",
            json={"name": "Ann", "email": "ann@example.com"},
            headers={"Authorization": f"Bearer {assertion}"},
        )

        assert response.status_code == 201, response.text
        listed = (await tenant.http.get("/api/customers")).json()["items"]
        assert [item["id"] for item in listed] == [response.json()["id"]]
        event = await only_event(runtime, tenant.tenant_id, "customer.created")
        assert event.causation_execution_id == execution_id
        assert event.causation_depth == 2
