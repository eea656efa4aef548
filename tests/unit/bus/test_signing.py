from __future__ import annotations

import base64
import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from bettercallsold.bus.signing import new_secret, signature_headers


class TestNewSecret:
    def test_is_whsec_and_32_random_bytes(self) -> None:
        secret = new_secret()
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
        assert new_secret() != secret


class TestSignatureHeaders:
    body = '{"event_id":"evt_1","payload":{"name":"Zoë"}}'

    def test_verifies_with_the_reference_library(self) -> None:
        secret = new_secret()
        headers = signature_headers(secret, "msg_1", int(time.time()), self.body)
        assert Webhook(secret).verify(self.body.encode(), headers) == {
            "event_id": "evt_1",
            "payload": {"name": "Zoë"},
        }

    def test_has_the_three_standard_headers(self) -> None:
        headers = signature_headers(new_secret(), "msg_1", 1_700_000_000, self.body)
        assert headers["webhook-id"] == "msg_1"
        assert headers["webhook-timestamp"] == "1700000000"
        assert headers["webhook-signature"].startswith("v1,")

    def test_matches_the_contract_formula(self) -> None:
        import hashlib
        import hmac

        secret = new_secret()
        key = base64.b64decode(secret.removeprefix("whsec_"))
        expected = hmac.new(key, f"msg_1.1700000000.{self.body}".encode(), hashlib.sha256)
        headers = signature_headers(secret, "msg_1", 1_700_000_000, self.body)
        assert headers["webhook-signature"] == "v1," + base64.b64encode(expected.digest()).decode()

    def test_another_secret_does_not_verify(self) -> None:
        headers = signature_headers(new_secret(), "msg_1", int(time.time()), self.body)
        with pytest.raises(WebhookVerificationError):
            Webhook(new_secret()).verify(self.body, headers)

    def test_a_stale_timestamp_is_refused_by_receivers(self) -> None:
        secret = new_secret()
        headers = signature_headers(secret, "msg_1", int(time.time()) - 600, self.body)
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(self.body, headers)
