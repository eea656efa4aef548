"""Webhook intake: signature, freshness, de-duplication, storage, and the flows it starts."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from bettercallsold.automation.runner import RUN_EXECUTION_TASK
from bettercallsold.runtime import Runtime
from bettercallsold.settings import Settings
from tests.integration.automation.conftest import (
    WEBHOOK_PATH,
    MakeFlow,
    SendEvent,
    envelope,
    signed_request,
)
from tests.integration.conftest import TenantHandle


async def _jobs_for(runtime: Runtime, event_id: str) -> int:
    """`run_execution` jobs deferred for the executions of one event."""
    async with runtime.engine.connect() as connection:
        count = await connection.scalar(
            text(
                "SELECT count(*) FROM procrastinate_jobs j"
                " JOIN automation_executions e ON e.id::text = j.args->>'execution_id'"
                " WHERE j.task_name = :task AND e.event_id = :id"
            ),
            {"task": RUN_EXECUTION_TASK, "id": event_id},
        )
    return int(count or 0)


async def _received(runtime: Runtime, event_id: str) -> list[dict[str, object]]:
    async with runtime.engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT * FROM automation_received_events WHERE event_id = :id"),
            {"id": event_id},
        )
        return [dict(row._mapping) for row in rows]


class TestSignature:
    async def test_a_signed_event_is_accepted_stored_and_deferred(
        self, client: httpx.AsyncClient, settings: Settings, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        sent = envelope(tenant.tenant_id, "customer.created", {"email": "a@b.c"}, depth=2)
        body, headers = signed_request(settings, sent)
        response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert response.status_code == 202, response.text
        assert response.json() == {
            "accepted": True,
            "event_id": sent["event_id"],
            "duplicate": False,
        }
        [row] = await _received(runtime, sent["event_id"])
        assert row["tenant_id"] == tenant.tenant_id
        assert row["payload"] == {"email": "a@b.c"}
        assert row["causation_depth"] == 2
        assert row["webhook_id"] == headers["webhook-id"]
        assert row["processed_at"] is not None
        assert await _jobs_for(runtime, sent["event_id"]) == 0  # the tenant has no flow

    async def test_a_matching_flow_gets_its_execution_and_job_in_the_same_transaction(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        runtime: Runtime,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        await make_flow(tenant)
        sent = envelope(tenant.tenant_id, "customer.created", {"email": "a@b.c"})
        body, headers = signed_request(settings, sent)
        response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert response.status_code == 202, response.text
        assert await _jobs_for(runtime, sent["event_id"]) == 1
        again = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert again.json()["duplicate"] is True
        assert await _jobs_for(runtime, sent["event_id"]) == 1

    async def test_a_wrong_signature_is_a_401(
        self, client: httpx.AsyncClient, settings: Settings, tenant: TenantHandle
    ) -> None:
        sent = envelope(tenant.tenant_id, "customer.created", {})
        other_secret = "whsec_" + "A" * 43 + "="
        body, headers = signed_request(settings, sent, secret=other_secret)
        response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert response.status_code == 401
        assert "signature" in response.json()["detail"]

    async def test_a_tampered_body_is_a_401(
        self, client: httpx.AsyncClient, settings: Settings, tenant: TenantHandle
    ) -> None:
        sent = envelope(tenant.tenant_id, "customer.created", {"total": 1})
        body, headers = signed_request(settings, sent)
        tampered = body.replace(b'"total": 1', b'"total": 9')
        response = await client.post(WEBHOOK_PATH, content=tampered, headers=headers)
        assert response.status_code == 401

    async def test_a_stale_timestamp_is_a_401(
        self, client: httpx.AsyncClient, settings: Settings, tenant: TenantHandle
    ) -> None:
        sent = envelope(tenant.tenant_id, "customer.created", {})
        stale = datetime.now(UTC) - timedelta(minutes=6)
        body, headers = signed_request(settings, sent, timestamp=stale)
        response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert response.status_code == 401
        future = datetime.now(UTC) + timedelta(minutes=6)
        body, headers = signed_request(settings, sent, timestamp=future)
        assert (await client.post(WEBHOOK_PATH, content=body, headers=headers)).status_code == 401

    async def test_missing_or_garbled_headers_are_a_401(
        self, client: httpx.AsyncClient, settings: Settings, tenant: TenantHandle
    ) -> None:
        body, headers = signed_request(settings, envelope(tenant.tenant_id, "task.created", {}))
        assert (await client.post(WEBHOOK_PATH, content=body)).status_code == 401
        garbled = {**headers, "webhook-signature": "v1"}
        assert (await client.post(WEBHOOK_PATH, content=body, headers=garbled)).status_code == 401
        not_base64 = {**headers, "webhook-signature": "v1,%%%"}
        response = await client.post(WEBHOOK_PATH, content=body, headers=not_base64)
        assert response.status_code == 401


class TestEnvelope:
    async def test_a_signed_non_event_is_a_422_naming_the_field(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        body, headers = signed_request(settings, {"event_type": "customer.created"})
        response = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert response.status_code == 422
        locs = [detail["loc"] for detail in response.json()["detail"]]
        assert ["body", "event_id"] in locs
        assert ["body", "tenant_id"] in locs

    async def test_signed_garbage_is_a_422(
        self, client: httpx.AsyncClient, settings: Settings
    ) -> None:
        assert settings.webhook_secret is not None
        from standardwebhooks.webhooks import Webhook

        moment = datetime.now(UTC)
        signature = Webhook(settings.webhook_secret.get_secret_value()).sign(
            "msg_1", moment, "not json"
        )
        headers = {
            "webhook-id": "msg_1",
            "webhook-timestamp": str(int(moment.timestamp())),
            "webhook-signature": signature,
        }
        response = await client.post(WEBHOOK_PATH, content=b"not json", headers=headers)
        assert response.status_code == 422


class TestDuplicates:
    async def test_the_same_webhook_id_twice_is_accepted_once(
        self,
        client: httpx.AsyncClient,
        settings: Settings,
        runtime: Runtime,
        tenant: TenantHandle,
        make_flow: MakeFlow,
    ) -> None:
        await make_flow(tenant)
        sent = envelope(tenant.tenant_id, "customer.created", {"email": "a@b.c"})
        body, headers = signed_request(settings, sent)
        first = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        again = await client.post(WEBHOOK_PATH, content=body, headers=headers)
        assert first.status_code == again.status_code == 202
        assert again.json() == {"accepted": True, "event_id": sent["event_id"], "duplicate": True}
        assert len(await _received(runtime, sent["event_id"])) == 1
        assert await _jobs_for(runtime, sent["event_id"]) == 1

    async def test_the_same_event_under_another_webhook_id_is_not_stored_twice(
        self, send_event: SendEvent, runtime: Runtime, tenant: TenantHandle
    ) -> None:
        event_id = f"evt_{uuid.uuid4().hex}"
        first = await send_event(tenant.tenant_id, "customer.created", {}, event_id=event_id)
        again = await send_event(tenant.tenant_id, "customer.created", {}, event_id=event_id)
        assert first.json()["duplicate"] is False
        assert again.json()["duplicate"] is True
        assert len(await _received(runtime, event_id)) == 1


async def test_the_openapi_document_describes_the_envelope(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    operation = document["paths"][WEBHOOK_PATH]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert {"event_id", "event_type", "tenant_id", "payload"} <= set(schema["required"])
    assert "$ref" not in json.dumps(schema)
