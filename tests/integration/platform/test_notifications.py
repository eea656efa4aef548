"""`/api/notifications`: email, SMS and channel messages are sent, kept, listed and emitted."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from bettercallsold.platform.notifications.models import Notification
from bettercallsold.runtime import Runtime
from tests.integration.conftest import MakeTenant, TenantHandle
from tests.integration.platform.helpers import (
    all_pages,
    assert_event_carries,
    assert_pages_through,
    assert_plain_error,
    assert_unprocessable,
    count_rows,
    create,
    events_of,
    only_event,
)

EMAIL = {"to": "john@example.com", "subject": "Welcome John!", "template": "welcome_email"}
SMS = {"to": "+1 555 0100", "message": "Your order shipped"}
CHANNEL = {"message": "New order #42", "channel": "slack"}


class TestSendEmail:
    async def test_answers_201_with_a_sent_email(self, tenant: TenantHandle) -> None:
        response = await tenant.http.post("/api/notifications/email", json=EMAIL)
        assert response.status_code == 201, response.text
        body = response.json()
        assert uuid.UUID(body["id"])
        assert body["channel"] == "email"
        assert body["status"] == "sent"
        assert body["to"] == "john@example.com"
        assert body["subject"] == "Welcome John!"
        assert body["template"] == "welcome_email"
        assert body["body"] is None
        assert body["message"] is None  # an email has a subject and a body

    async def test_emits_notification_sent(self, tenant: TenantHandle, runtime: Runtime) -> None:
        sent = await create(tenant.http, "/api/notifications/email", {**EMAIL, "body": "Hi"})
        event = await only_event(runtime, tenant.tenant_id, "notification.sent")
        assert_event_carries(event, sent, "notification_id")

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"subject": "Hi"}, ["body", "to"]),
            ({"to": "not-an-address", "subject": "Hi"}, ["body", "to"]),
            ({"to": "john@example.com"}, ["body", "subject"]),
            ({"to": "john@example.com", "subject": ""}, ["body", "subject"]),
            ({"to": "john@example.com", "subject": 5}, ["body", "subject"]),
            ({"to": "john@example.com", "subject": "Hi", "body": "a\x00"}, ["body", "body"]),
            ({**EMAIL, "cc": "x@example.com"}, ["body", "cc"]),
        ],
    )
    async def test_a_bad_body_is_422_and_sends_nothing(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str]
    ) -> None:
        response = await tenant.http.post("/api/notifications/email", json=body)
        assert_unprocessable(response, loc)
        assert await count_rows(runtime, Notification, tenant.tenant_id) == 0
        assert await events_of(runtime, tenant.tenant_id) == []


class TestSendSms:
    async def test_answers_201_with_a_sent_text(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        response = await tenant.http.post("/api/notifications/sms", json=SMS)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["channel"], body["status"]) == ("sms", "sent")
        assert (body["to"], body["body"]) == ("+1 555 0100", "Your order shipped")
        assert body["message"] == "Your order shipped"  # as the request named it
        event = await only_event(runtime, tenant.tenant_id, "notification.sent")
        assert_event_carries(event, body, "notification_id")

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"message": "Hi"}, ["body", "to"]),
            ({"to": "call me maybe", "message": "Hi"}, ["body", "to"]),
            ({"to": "+15550100"}, ["body", "message"]),
            ({"to": "+15550100", "message": ""}, ["body", "message"]),
        ],
    )
    async def test_a_bad_body_is_422(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str]
    ) -> None:
        assert_unprocessable(await tenant.http.post("/api/notifications/sms", json=body), loc)
        assert await count_rows(runtime, Notification, tenant.tenant_id) == 0


class TestSendChannelMessage:
    async def test_a_message_on_the_email_channel_answers_its_message(
        self, tenant: TenantHandle
    ) -> None:
        sent = await create(
            tenant.http, "/api/notifications", {"message": "hello", "channel": "email"}
        )
        assert (sent["channel"], sent["message"], sent["body"]) == ("email", "hello", "hello")
        read = (await tenant.http.get(f"/api/notifications/{sent['id']}")).json()
        assert read["message"] == "hello"

    async def test_answers_201_on_the_named_channel(
        self, tenant: TenantHandle, runtime: Runtime
    ) -> None:
        response = await tenant.http.post("/api/notifications", json=CHANNEL)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["channel"], body["status"], body["body"]) == (
            "slack",
            "sent",
            CHANNEL["message"],
        )
        assert body["message"] == CHANNEL["message"]
        event = await only_event(runtime, tenant.tenant_id, "notification.sent")
        assert_event_carries(event, body, "notification_id")

    @pytest.mark.parametrize(
        ("body", "loc"),
        [
            ({"channel": "slack"}, ["body", "message"]),
            ({"message": "Hi"}, ["body", "channel"]),
            ({"message": "Hi", "channel": "Slack!"}, ["body", "channel"]),
            ({"message": "Hi", "channel": ["slack"]}, ["body", "channel"]),
        ],
    )
    async def test_a_bad_body_is_422(
        self, tenant: TenantHandle, runtime: Runtime, body: dict[str, Any], loc: list[str]
    ) -> None:
        assert_unprocessable(await tenant.http.post("/api/notifications", json=body), loc)
        assert await count_rows(runtime, Notification, tenant.tenant_id) == 0


class TestListNotifications:
    async def test_every_notification_is_kept_and_listed(self, tenant: TenantHandle) -> None:
        created = [
            await create(tenant.http, "/api/notifications/email", EMAIL),
            await create(tenant.http, "/api/notifications/sms", SMS),
            await create(tenant.http, "/api/notifications", CHANNEL),
            await create(tenant.http, "/api/notifications/email", EMAIL),
            await create(tenant.http, "/api/notifications/sms", SMS),
        ]
        await assert_pages_through(tenant.http, "/api/notifications", created, limit=2)

    async def test_filters_by_channel(self, tenant: TenantHandle) -> None:
        emails = [await create(tenant.http, "/api/notifications/email", EMAIL) for _ in range(3)]
        await create(tenant.http, "/api/notifications/sms", SMS)
        pages = await all_pages(tenant.http, "/api/notifications", limit=2, channel="email")
        assert [item["id"] for page in pages for item in page] == [
            item["id"] for item in reversed(emails)
        ]

    async def test_an_empty_channel_filter_lists_every_channel(self, tenant: TenantHandle) -> None:
        created = [
            await create(tenant.http, "/api/notifications/email", EMAIL),
            await create(tenant.http, "/api/notifications/sms", SMS),
        ]
        response = await tenant.http.get("/api/notifications", params={"channel": ""})
        assert [item["id"] for item in response.json()["items"]] == [
            item["id"] for item in reversed(created)
        ]

    @pytest.mark.parametrize("channel", ["EMAIL", "a\x00", "x" * 41])
    async def test_an_impossible_channel_filter_is_422(
        self, tenant: TenantHandle, channel: str
    ) -> None:
        response = await tenant.http.get("/api/notifications", params={"channel": channel})
        assert_unprocessable(response, ["query", "channel"])


class TestReadNotification:
    async def test_answers_200_with_the_notification(self, tenant: TenantHandle) -> None:
        sent = await create(tenant.http, "/api/notifications/sms", SMS)
        response = await tenant.http.get(f"/api/notifications/{sent['id']}")
        assert response.status_code == 200
        assert response.json() == sent

    async def test_another_tenants_notification_is_404(self, make_tenant: MakeTenant) -> None:
        owner, other = await make_tenant(), await make_tenant()
        sent = await create(owner.http, "/api/notifications/email", EMAIL)
        assert_plain_error(await other.http.get(f"/api/notifications/{sent['id']}"), 404)
        assert (await other.http.get("/api/notifications")).json()["items"] == []
        assert (await owner.http.get(f"/api/notifications/{sent['id']}")).status_code == 200

    async def test_an_unknown_id_is_404(self, tenant: TenantHandle) -> None:
        assert_plain_error(await tenant.http.get(f"/api/notifications/{uuid.uuid4()}"), 404)
