from __future__ import annotations

import httpx

from tests.integration.conftest import TenantHandle


async def test_healthz_answers_when_the_database_does(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_a_product_round_trips(tenant: TenantHandle) -> None:
    created = await tenant.http.post("/api/products", json={"name": "Mug", "price": 12.5})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["price"] == 12.5
    fetched = await tenant.http.get(f"/api/products/{body['id']}")
    assert fetched.json()["name"] == "Mug"


async def test_metrics_exposes_the_contract_families(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")
    assert response.status_code == 200
    text = response.text
    for family in (
        'bcs_queue_depth{queue="deliveries"}',
        "bcs_execution_duration_seconds_bucket",
        "bcs_execution_duration_seconds_count",
    ):
        assert family in text
