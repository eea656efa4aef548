"""`GET /api/events`: a tenant's stored events of one type, newest first, within a window; the
automation plugin's replay reads them so when the platform runs elsewhere."""

from __future__ import annotations

from datetime import datetime

from tests.integration.conftest import MakeTenant


class TestStoredEvents:
    async def test_the_tenants_events_of_one_type_newest_first(
        self, make_tenant: MakeTenant
    ) -> None:
        shop, other = await make_tenant(), await make_tenant()
        for name in ("Ann", "Bob", "Cy"):
            await shop.http.post("/api/customers", json={"name": name, "email": f"{name}@x.io"})
        await shop.http.post("/api/tasks", json={"title": "not a customer"})
        await other.http.post("/api/customers", json={"name": "Eve", "email": "eve@x.io"})

        response = await shop.http.get("/api/events", params={"event_type": "customer.created"})

        assert response.status_code == 200, response.text
        items = response.json()["items"]
        assert [item["payload"]["name"] for item in items] == ["Cy", "Bob", "Ann"]
        assert {item["event_type"] for item in items} == {"customer.created"}
        assert all(item["event_id"].startswith("evt_") for item in items)
        assert items[0]["payload"]["customer_id"]

        limited = await shop.http.get(
            "/api/events", params={"event_type": "customer.created", "limit": 2}
        )
        assert [item["payload"]["name"] for item in limited.json()["items"]] == ["Cy", "Bob"]
        since = datetime.fromisoformat(items[1]["occurred_at"]).isoformat()
        recent = await shop.http.get(
            "/api/events", params={"event_type": "customer.created", "since": since}
        )
        assert [item["payload"]["name"] for item in recent.json()["items"]] == ["Cy", "Bob"]

    async def test_bad_queries_are_422s_naming_the_field(self, make_tenant: MakeTenant) -> None:
        shop = await make_tenant()
        cases: dict[str, dict[str, str | int]] = {
            "event_type": {},
            "limit": {"event_type": "customer.created", "limit": 501},
            "since": {"event_type": "customer.created", "since": "soon"},
        }
        for field, params in cases.items():
            response = await shop.http.get("/api/events", params=params)
            assert response.status_code == 422, (field, response.text)
            assert response.json()["detail"][0]["loc"] == ["query", field]

    async def test_it_needs_a_credential(self, make_tenant: MakeTenant) -> None:
        shop = await make_tenant()
        shop.http.headers.pop("Authorization")
        response = await shop.http.get("/api/events", params={"event_type": "customer.created"})
        assert response.status_code == 401
