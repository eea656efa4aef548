"""Standard Webhooks signatures (pure but for `new_secret`), made by the reference library.

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` keyed by the decoded
`whsec_` secret; receivers refuse timestamps more than 5 minutes off, so the timestamp is taken
at each attempt, while `webhook-id` stays the delivery's id across retries for de-duplication.
"""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (a public prefix, not a secret)
SECRET_BYTES = 32


def new_secret() -> str:
    """A fresh signing secret: `whsec_` + base64 of 32 random bytes (Standard Webhooks: 24-64)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_headers(secret: str, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The three Standard Webhooks headers for `body` sent at `timestamp` (Unix seconds)."""
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(timestamp, UTC), body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
