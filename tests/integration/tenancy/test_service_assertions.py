"""Service assertions on the real app (`tenancy/auth.py`): each is good for one call only, the
one it was signed for (audience, method, path), within 60 s; anything else is a 401 in the
contract's `{"detail": "..."}` shape, and nothing is stored."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bettercallsold.jobs.maintenance import ASSERTION_PURGE_CRON, purge_assertions
from bettercallsold.platform.customers.models import Customer
from bettercallsold.platform.orders.models import Order
from bettercallsold.platform.products.models import Product
from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import LIFETIME, sign_assertion
from bettercallsold.tenancy.models import AssertionUse
from bettercallsold.tenancy.repository import PURGE_GRACE, spend_assertion
from bettercallsold.types import TenantContext, utcnow
from tests.integration.conftest import TenantHandle
from tests.integration.jobs import job_context, periodic_task
from tests.integration.platform.helpers import assert_plain_error, count_rows


def _bearer(runtime: Runtime, tenant: TenantHandle, method: str, path: str, **kw: Any) -> str:
    secret = runtime.settings.secret_key
    assert secret is not None
    token = sign_assertion(
        secret.get_secret_value(), TenantContext(tenant.tenant_id), method=method, path=path, **kw
    )
    return f"Bearer {token}"


def _refused(response: httpx.Response, why: str) -> None:
    assert_plain_error(response, 401)
    assert response.json()["detail"] == why


class TestSingleUse:
    async def test_a_replayed_assertion_is_401(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        headers = {"Authorization": _bearer(runtime, tenant, "GET", "/api/products")}
        first = await client.get("/api/products", headers=headers)
        again = await client.get("/api/products", headers=headers)

        assert first.status_code == 200, first.text
        _refused(again, "service assertion already used")

    async def test_concurrent_uses_of_one_assertion_let_exactly_one_through(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        headers = {"Authorization": _bearer(runtime, tenant, "POST", "/api/customers")}
        answers = await asyncio.gather(
            *(
                client.post("/api/customers", json={"name": f"Ann {n}"}, headers=headers)
                for n in range(8)
            )
        )

        assert sorted(answer.status_code for answer in answers) == [201] + [401] * 7
        assert await count_rows(runtime, Customer, tenant.tenant_id) == 1

    async def test_an_assertion_spent_on_a_failed_request_stays_spent(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        """Spent before the request's work, in its own statement: a rolled-back request does
        not give its assertion back (a caller retrying signs a fresh one)."""
        headers = {"Authorization": _bearer(runtime, tenant, "POST", "/api/products")}
        invalid = await client.post("/api/products", json={"name": "Mug"}, headers=headers)
        valid = await client.post(
            "/api/products", json={"name": "Mug", "price": 1}, headers=headers
        )

        assert invalid.status_code == 422, invalid.text
        _refused(valid, "service assertion already used")
        assert await count_rows(runtime, Product, tenant.tenant_id) == 0

    async def test_fresh_assertions_for_the_same_call_each_work(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        for _ in range(3):
            headers = {"Authorization": _bearer(runtime, tenant, "GET", "/api/products")}
            response = await client.get("/api/products", headers=headers)
            assert response.status_code == 200, response.text


class TestBoundToItsCall:
    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("POST", "/api/orders", {"customer_id": str(uuid.uuid4()), "items": []}),
            ("GET", "/api/orders", None),
            ("POST", "/api/products", {"name": "Mug", "price": 1}),
            ("GET", f"/api/products/{uuid.uuid4()}", None),
        ],
        ids=["other method and path", "other path", "other method", "longer path"],
    )
    async def test_an_assertion_for_get_products_is_401_elsewhere(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        tenant: TenantHandle,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        headers = {"Authorization": _bearer(runtime, tenant, "GET", "/api/products")}
        response = await client.request(method, path, json=body, headers=headers)

        _refused(response, "service assertion for another request")
        assert await count_rows(runtime, Order, tenant.tenant_id) == 0
        assert await count_rows(runtime, Product, tenant.tenant_id) == 0

    async def test_the_query_string_is_not_part_of_the_call(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        headers = {"Authorization": _bearer(runtime, tenant, "GET", "/api/products")}
        response = await client.get("/api/products?limit=5", headers=headers)
        assert response.status_code == 200, response.text

    async def test_another_audience_is_401(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        bearer = _bearer(runtime, tenant, "GET", "/api/products", audience="bcs:another-api")
        response = await client.get("/api/products", headers={"Authorization": bearer})
        _refused(response, "service assertion for another audience")

    async def test_the_plugin_api_takes_them_too(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        """The UI reaches the plugin's flows with assertions: one audience for every API that
        takes a tenant's credential."""
        path = "/plugins/automation/flows"
        response = await client.get(
            path, headers={"Authorization": _bearer(runtime, tenant, "GET", path)}
        )
        assert response.status_code == 200, response.text


class TestLifetime:
    async def test_an_expired_assertion_is_401(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        signed_at = utcnow() - LIFETIME - timedelta(seconds=2)
        bearer = _bearer(runtime, tenant, "GET", "/api/products", now=signed_at)
        response = await client.get("/api/products", headers={"Authorization": bearer})
        _refused(response, "service assertion expired")

    async def test_one_signed_a_moment_ago_is_still_good(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        signed_at = utcnow() - LIFETIME + timedelta(seconds=10)
        bearer = _bearer(runtime, tenant, "GET", "/api/products", now=signed_at)
        response = await client.get("/api/products", headers={"Authorization": bearer})
        assert response.status_code == 200, response.text

    async def test_one_living_longer_than_60_s_is_401(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        """Its id would be purged while it could still be used."""
        signed_at = utcnow() + timedelta(minutes=10)
        bearer = _bearer(runtime, tenant, "GET", "/api/products", now=signed_at)
        response = await client.get("/api/products", headers={"Authorization": bearer})
        _refused(response, "service assertion lives too long")


class TestPurge:
    async def test_the_periodic_task_forgets_only_expired_ids(self, runtime: Runtime) -> None:
        now = utcnow()
        expired, live = uuid.uuid4(), uuid.uuid4()
        async with runtime.engine.begin() as connection:
            assert await spend_assertion(connection, expired, now - PURGE_GRACE - LIFETIME)
            assert await spend_assertion(connection, live, now + LIFETIME)

        context = job_context(runtime, "maintenance:purge_spent_assertions")
        await purge_assertions.func(context, timestamp=0)

        async with runtime.engine.connect() as connection:
            left = set(
                await connection.scalars(
                    select(AssertionUse.jti).where(AssertionUse.jti.in_([expired, live]))
                )
            )
        assert left == {live}

    async def test_spent_ids_are_kept_until_their_assertion_expires(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        headers = {"Authorization": _bearer(runtime, tenant, "GET", "/api/products")}
        assert (await client.get("/api/products", headers=headers)).status_code == 200

        await purge_assertions.func(
            job_context(runtime, "maintenance:purge_spent_assertions"), timestamp=0
        )

        _refused(
            await client.get("/api/products", headers=headers), "service assertion already used"
        )

    def test_it_runs_every_minute_on_the_maintenance_queue(self, runtime: Runtime) -> None:
        periodic = periodic_task(runtime, "maintenance:purge_spent_assertions")
        assert periodic.cron == ASSERTION_PURGE_CRON == "* * * * *"
        assert periodic.task.queue == "maintenance"
