"""The bus's errors, under the shared tree in `bettercallsold/errors.py`:

ActionAlreadyPerformed (200)  not a failure: the repeat of a keyed write gets the first answer
NotFound (404)
├── SubscriptionNotFound
└── DeliveryNotFound
Conflict (409)
├── DeliveryAlreadyQueued
└── SubscriptionPaused
Unprocessable (422)
└── WebhookUrlRefused      loc ["body", "url"]
"""

from __future__ import annotations

from typing import Any

from bettercallsold.errors import BCSError, Conflict, NotFound, Unprocessable


class ActionAlreadyPerformed(BCSError):
    """This flow action was already performed: the answer is the resource it wrote.

    Raised (before or during the write) by a platform request that repeats an event receiver
    action (`TenantContext.action_key`); the request's transaction is rolled back, and `app.py`
    answers 200 with `resource` (the first write's event payload) and `Idempotent-Replayed`.
    """

    status_code = 200

    def __init__(self, resource: dict[str, Any]) -> None:
        super().__init__()
        self.resource = resource


class SubscriptionNotFound(NotFound):
    """Webhook subscription not found."""


class DeliveryNotFound(NotFound):
    """Webhook delivery not found."""


class DeliveryAlreadyQueued(Conflict):
    """The delivery is already waiting for its attempt."""


class SubscriptionPaused(Conflict):
    """The subscription is paused; resume it before redelivering."""


class WebhookUrlRefused(Unprocessable):
    """The webhook URL may not be used."""

    def __init__(self, message: str) -> None:
        super().__init__(["body", "url"], message, "url_refused")
