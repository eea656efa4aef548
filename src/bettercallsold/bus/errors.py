"""The bus's errors, under the shared tree in `bettercallsold/errors.py`:

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

from bettercallsold.errors import Conflict, NotFound, Unprocessable


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
