"""The subscription API on the session's app, whose operator does NOT allow private URLs."""

from __future__ import annotations

import base64
import uuid

import httpx
import pytest

from tests.integration.conftest import MakeTenant, TenantHandle

URL = "https://hooks.example.com/in"


async def create(http: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await http.post(
        "/api/webhooks/subscriptions", json={"url": URL, "event_types": ["*"], **body}
    )


@pytest.mark.usefixtures("dns")
class TestCreate:
    async def test_answers_201_with_the_secret_once(self, tenant: TenantHandle) -> None:
        response = await create(
            tenant.http, event_types=["order.created", "order.created"], description="ERP"
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["url"] == URL
        assert body["event_types"] == ["order.created"]
        assert body["description"] == "ERP"
        assert body["status"] == "active"
        assert body["secret"].startswith("whsec_")
        assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) == 32
        fetched = await tenant.http.get(f"/api/webhooks/subscriptions/{body['id']}")
        assert fetched.status_code == 200
        assert "secret" not in fetched.json()
        assert fetched.json()["url"] == URL

    async def test_requires_a_token(self, client: httpx.AsyncClient) -> None:
        response = await create(client)
        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"event_types": ["order.shipped"]}, ["body", "event_types", 0]),
            ({"event_types": ["*", "nope"]}, ["body", "event_types", 1]),
            ({"event_types": []}, ["body", "event_types"]),
            ({"url": "ftp://hooks.example.com/"}, ["body", "url"]),
            ({"url": "hooks.example.com"}, ["body", "url"]),
            ({"colour": "red"}, ["body", "colour"]),
        ],
    )
    async def test_a_bad_field_is_a_422_naming_it(
        self, tenant: TenantHandle, body: dict[str, object], loc: list[object]
    ) -> None:
        response = await create(tenant.http, **body)
        assert response.status_code == 422, response.text
        assert [error["loc"] for error in response.json()["detail"]] == [loc]

    async def test_an_unknown_event_type_is_named(self, tenant: TenantHandle) -> None:
        response = await create(tenant.http, event_types=["order.shipped"])
        assert "unknown event type 'order.shipped'" in response.json()["detail"][0]["msg"]


@pytest.mark.usefixtures("dns")
class TestSsrf:
    @pytest.mark.parametrize(
        ("url", "reason"),
        [
            ("http://127.0.0.1/", "loopback"),
            ("http://169.254.169.254/latest/meta-data/", "metadata"),
            ("http://[::1]/", "loopback"),
            ("http://[fd00:ec2::254]/", "metadata"),
            ("http://0.0.0.0/", "unspecified"),
            ("http://[::ffff:10.0.0.1]/", "private"),
            ("https://intranet.example.com/hook", "10.20.30.40"),
            ("https://split.example.com/hook", "192.168.0.10"),
            ("https://metadata.example.com/hook", "metadata"),
        ],
    )
    async def test_private_destinations_are_refused(
        self, tenant: TenantHandle, url: str, reason: str
    ) -> None:
        response = await create(tenant.http, url=url)
        assert response.status_code == 422, response.text
        [error] = response.json()["detail"]
        assert error["loc"] == ["body", "url"]
        assert reason in error["msg"]
        listed = await tenant.http.get("/api/webhooks/subscriptions")
        assert listed.json()["items"] == []

    async def test_an_update_to_a_private_url_is_refused(self, tenant: TenantHandle) -> None:
        created = (await create(tenant.http)).json()
        response = await tenant.http.put(
            f"/api/webhooks/subscriptions/{created['id']}", json={"url": "http://10.0.0.1/"}
        )
        assert response.status_code == 422
        fetched = await tenant.http.get(f"/api/webhooks/subscriptions/{created['id']}")
        assert fetched.json()["url"] == URL


async def test_localhost_is_refused_by_name(tenant: TenantHandle) -> None:
    response = await create(tenant.http, url="http://localhost.:8000/hook")
    assert response.status_code == 422
    assert "local network name" in response.json()["detail"][0]["msg"]


@pytest.mark.parametrize("host", ["127.1", "2130706433", "0x7f000001"])
async def test_loopback_through_the_system_resolver_is_refused(
    tenant: TenantHandle, host: str
) -> None:
    """Not literal addresses to Python, so the system resolver answers (inet_aton's forms):
    127.0.0.1, refused."""
    response = await create(tenant.http, url=f"http://{host}:8000/hook")
    assert response.status_code == 422
    assert "loopback" in response.json()["detail"][0]["msg"]


@pytest.mark.usefixtures("dns")
class TestManage:
    async def test_update_changes_any_subset(self, tenant: TenantHandle) -> None:
        created = (await create(tenant.http, description="old")).json()
        path = f"/api/webhooks/subscriptions/{created['id']}"
        response = await tenant.http.put(
            path,
            json={
                "url": "https://other.example.com/x",
                "event_types": ["task.created"],
                "status": "paused",
            },
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["url"] == "https://other.example.com/x"
        assert body["event_types"] == ["task.created"]
        assert body["status"] == "paused"
        assert body["description"] == "old"
        cleared = await tenant.http.put(path, json={"description": None, "status": "active"})
        assert cleared.json()["description"] is None
        assert cleared.json()["status"] == "active"
        bad = await tenant.http.put(path, json={"status": "disabled"})
        assert bad.status_code == 422

    async def test_list_pages_newest_first(self, tenant: TenantHandle) -> None:
        ids = [(await create(tenant.http)).json()["id"] for _ in range(3)]
        first = (await tenant.http.get("/api/webhooks/subscriptions?limit=2")).json()
        assert [item["id"] for item in first["items"]] == ids[::-1][:2]
        assert all("secret" not in item for item in first["items"])
        second = (
            await tenant.http.get(
                "/api/webhooks/subscriptions", params={"limit": 2, "cursor": first["next_cursor"]}
            )
        ).json()
        assert [item["id"] for item in second["items"]] == [ids[0]]
        assert second["next_cursor"] is None

    async def test_delete_answers_204_then_404(self, tenant: TenantHandle) -> None:
        created = (await create(tenant.http)).json()
        path = f"/api/webhooks/subscriptions/{created['id']}"
        assert (await tenant.http.delete(path)).status_code == 204
        assert (await tenant.http.get(path)).status_code == 404
        assert (await tenant.http.delete(path)).status_code == 404

    async def test_another_tenants_subscription_is_a_404(self, make_tenant: MakeTenant) -> None:
        owner, other = await make_tenant(), await make_tenant()
        created = (await create(owner.http)).json()
        path = f"/api/webhooks/subscriptions/{created['id']}"
        assert (await other.http.get(path)).status_code == 404
        assert (await other.http.put(path, json={"status": "paused"})).status_code == 404
        assert (await other.http.delete(path)).status_code == 404
        assert (await other.http.get("/api/webhooks/subscriptions")).json()["items"] == []
        assert (await owner.http.get(path)).json()["status"] == "active"

    async def test_the_operator_subscription_is_not_listed(self, tenant: TenantHandle) -> None:
        listed = (await tenant.http.get("/api/webhooks/subscriptions")).json()
        assert listed == {"items": [], "next_cursor": None}


class TestDeliveriesApi:
    async def test_filters_are_validated(self, tenant: TenantHandle) -> None:
        response = await tenant.http.get("/api/webhooks/deliveries", params={"status": "lost"})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "status"]
        response = await tenant.http.get("/api/webhooks/deliveries", params={"cursor": "%%%"})
        assert response.status_code == 422

    async def test_unknown_deliveries_are_404(self, tenant: TenantHandle) -> None:
        missing = uuid.uuid4()
        assert (await tenant.http.get(f"/api/webhooks/deliveries/{missing}")).status_code == 404
        redeliver = await tenant.http.post(f"/api/webhooks/deliveries/{missing}/redeliver")
        assert redeliver.status_code == 404

    async def test_the_operator_subscriptions_deliveries_are_not_listed(
        self, tenant: TenantHandle
    ) -> None:
        created = await tenant.http.post("/api/customers", json={"name": "Ann"})
        assert created.status_code == 201
        listed = (await tenant.http.get("/api/webhooks/deliveries")).json()
        assert listed == {"items": [], "next_cursor": None}


async def test_a_name_that_does_not_resolve_yet_is_accepted_and_checked_at_delivery(
    tenant: TenantHandle,
) -> None:
    """No DNS answer now is no address to refuse; every attempt checks the name again."""
    created = await tenant.http.post(
        "/api/webhooks/subscriptions",
        json={"url": "https://receiver.invalid/hook", "event_types": ["order.created"]},
    )
    assert created.status_code == 201, created.text
    assert created.json()["url"] == "https://receiver.invalid/hook"
