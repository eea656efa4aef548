"""Event receiver actions are performed once: a write signed with an action key that was
already performed is answered with the first write's resource, and nothing happens again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from bettercallsold.platform.customers.models import Customer
from bettercallsold.platform.notifications.models import Notification
from bettercallsold.runtime import Runtime
from bettercallsold.tenancy.assertions import assertion_signer, read_assertion, sign_assertion
from bettercallsold.types import Causation, TenantContext
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.platform.helpers import count_rows, create_product, events_of

Headers = Callable[[str, str], dict[str, str]]


def _as_action(runtime: Runtime, tenant: TenantHandle, key: str | None) -> Headers:
    """Headers of the event receiver calling for one action of an execution: a fresh
    assertion for each call `(method, path)`, all with the same action key."""
    secret = runtime.settings.secret_key
    assert secret is not None
    context = TenantContext(tenant.tenant_id, Causation(uuid.uuid4(), depth=1), action_key=key)
    sign = assertion_signer(secret.get_secret_value(), context)
    return lambda method, path: {"Authorization": f"Bearer {sign(method, path)}"}


def _key() -> str:
    return uuid.uuid4().hex * 2


class TestAssertion:
    def test_carries_the_action_key(self, runtime: Runtime, tenant: TenantHandle) -> None:
        secret = runtime.settings.secret_key
        assert secret is not None
        key = _key()
        signed = sign_assertion(
            secret.get_secret_value(),
            TenantContext(tenant.tenant_id, action_key=key),
            method="POST",
            path="/api/customers",
        )
        granted = read_assertion(secret.get_secret_value(), signed).context
        assert granted.action_key == key
        unkeyed = sign_assertion(
            secret.get_secret_value(),
            TenantContext(tenant.tenant_id),
            method="POST",
            path="/api/customers",
        )
        granted = read_assertion(secret.get_secret_value(), unkeyed).context
        assert granted.action_key is None


class TestRepeatedAction:
    async def test_a_repeated_create_returns_the_first_resource(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        headers = _as_action(runtime, tenant, _key())
        body = {"to": "ann@example.com", "subject": "Welcome", "template": "welcome_email"}
        url = "/api/notifications/email"
        first = await client.post(url, json=body, headers=headers("POST", url))
        again = await client.post(url, json=body, headers=headers("POST", url))

        assert first.status_code == 201, first.text
        assert again.status_code == 200, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert again.json()["to"] == "ann@example.com"
        assert await count_rows(runtime, Notification, tenant.tenant_id) == 1
        assert len(await events_of(runtime, tenant.tenant_id, "notification.sent")) == 1

    @pytest.mark.parametrize(
        ("method", "path", "body"),
        [
            ("DELETE", "/api/products/{id}", None),
            ("PUT", "/api/products/{id}", {"price": 3}),
        ],
    )
    async def test_a_repeated_update_or_delete_does_not_run_again(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        tenant: TenantHandle,
        method: str,
        path: str,
        body: dict[str, Any] | None,
    ) -> None:
        product = await create_product(tenant.http, name="Mug", price=2)
        headers = _as_action(runtime, tenant, _key())
        url = path.format(id=product["id"])
        first = await client.request(method, url, json=body, headers=headers(method, url))
        again = await client.request(method, url, json=body, headers=headers(method, url))

        assert first.status_code in (200, 204), first.text
        assert again.status_code == 200, again.text  # not a 404 for the deleted product
        assert again.json()["id"] == product["id"]
        updated = "product.deleted" if method == "DELETE" else "product.updated"
        assert len(await events_of(runtime, tenant.tenant_id, updated)) == 1

    async def test_concurrent_repeats_write_once(
        self, client: httpx.AsyncClient, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        headers = _as_action(runtime, tenant, _key())
        body = {"name": "Ann", "email": "ann@example.com"}
        answers = await asyncio.gather(
            *(
                client.post("/api/customers", json=body, headers=headers("POST", "/api/customers"))
                for _ in range(10)
            )
        )

        assert all(answer.status_code in (200, 201) for answer in answers), [
            answer.text for answer in answers
        ]
        assert len({answer.json()["id"] for answer in answers}) == 1
        assert await count_rows(runtime, Customer, tenant.tenant_id) == 1
        assert len(await events_of(runtime, tenant.tenant_id, "customer.created")) == 1

    async def test_other_keys_other_tenants_and_unkeyed_writes_all_happen(
        self,
        client: httpx.AsyncClient,
        runtime: Runtime,
        tenant: TenantHandle,
        make_tenant: MakeTenant,
    ) -> None:
        other = await make_tenant()
        key = _key()
        body = {"name": "Ann"}
        calls = [
            _as_action(runtime, tenant, key),
            _as_action(runtime, tenant, _key()),
            _as_action(runtime, tenant, None),
            _as_action(runtime, tenant, None),
            _as_action(runtime, other, key),
        ]
        for headers in calls:
            response = await client.post(
                "/api/customers", json=body, headers=headers("POST", "/api/customers")
            )
            assert response.status_code == 201, response.text
        assert await count_rows(runtime, Customer, tenant.tenant_id) == 4
        assert await count_rows(runtime, Customer, other.tenant_id) == 1
