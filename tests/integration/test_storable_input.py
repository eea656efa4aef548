"""Strings JSON allows but PostgreSQL cannot store are a 422 everywhere, never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from bettercallsold.settings import Settings
from tests.integration.conftest import TenantHandle


def as_json(body: dict[str, Any]) -> dict[str, Any]:
    """Send the body as ASCII JSON (a lone surrogate travels as its `\\ud800` escape)."""
    return {
        "content": json.dumps(body, ensure_ascii=True),
        "headers": {"Content-Type": "application/json"},
    }


WELCOME_STEP = {"id": "a1", "type": "action", "action_type": "create_task"}


@pytest.mark.parametrize("bad", ["nul\x00here", "\ud800"])
class TestOddStrings:
    async def test_a_subscription(self, tenant: TenantHandle, bad: str) -> None:
        response = await tenant.http.post(
            "/api/webhooks/subscriptions",
            **as_json({"url": "https://hooks.invalid/x", "event_types": ["*"], "description": bad}),
        )
        assert response.status_code == 422, response.text

    async def test_a_flow(self, tenant: TenantHandle, bad: str) -> None:
        step = {**WELCOME_STEP, "payload_template": {"title": bad}}
        response = await tenant.http.post(
            "/plugins/automation/flows",
            **as_json(
                {
                    "name": "odd",
                    "trigger_event": "customer.created",
                    "flow_definition": {"steps": [step]},
                }
            ),
        )
        assert response.status_code == 422, response.text

    async def test_a_receiver_batch(
        self, client: httpx.AsyncClient, settings: Settings, bad: str
    ) -> None:
        assert settings.internal_api_token is not None
        token = settings.internal_api_token.get_secret_value()
        response = await client.post(
            "/api/events/automation",
            content=json.dumps(
                {
                    "flow_execution_id": "9b2f6c1e-8a4d-4f3b-9e2a-1c5d7e8f9a0b",
                    "events": [{"action_type": "create_task", "payload": {"title": bad}}],
                }
            ),
            headers={
                "Authorization": f"Bearer {token}",
                "Idempotency-Key": "k:1",
                "Content-Type": "application/json",
            },
        )
        assert response.status_code == 422, response.text


async def test_a_rejected_nan_is_echoed_as_valid_json(tenant: TenantHandle) -> None:
    response = await tenant.http.post(
        "/api/products",
        content='{"name": "x", "price": NaN}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "price"]
