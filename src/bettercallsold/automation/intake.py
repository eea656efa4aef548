"""`POST /plugins/automation/webhook`: verify, de-duplicate, store, start the flows, answer.

The signature is checked first, with the `standardwebhooks` library (which also refuses a
timestamp more than 5 minutes off), so an unsigned caller learns nothing about the body. The
event row (unique by `webhook-id` and by `event_id`, stored as processed), one execution per
matching active flow and their `automation:run_execution` jobs are written in the request's
transaction: a 202 means all are stored, a redelivery finds the row and starts nothing, and the
flows run later in the workers. Matching is one indexed query on the tenant's active flows for
the event type; an event no flow wants (most of them) defers no job at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bettercallsold.automation import repository
from bettercallsold.automation.errors import InvalidWebhookSignature, MalformedEvent
from bettercallsold.automation.runner import start_flows
from bettercallsold.automation.schemas import EventEnvelope, WebhookAccepted
from bettercallsold.ports import EventRecord
from bettercallsold.settings import Settings
from bettercallsold.types import utcnow


def verify_webhook(secret: str | None, body: bytes, headers: Mapping[str, str]) -> None:
    """Raise `InvalidWebhookSignature` unless the Standard Webhooks headers sign `body`."""
    if not secret:
        raise InvalidWebhookSignature("no webhook secret is configured")
    try:
        Webhook(secret).verify(body, dict(headers), json_parse=False)
    except WebhookVerificationError as exc:
        raise InvalidWebhookSignature(f"invalid webhook signature: {exc}") from exc
    except ValueError as exc:  # malformed signature header, base64 or body encoding
        raise InvalidWebhookSignature("invalid webhook signature") from exc


def parse_envelope(body: bytes) -> EventEnvelope:
    """The event envelope in `body`, or `MalformedEvent` locating what is wrong."""
    try:
        return EventEnvelope.model_validate_json(body)
    except ValidationError as exc:
        problems = [(["body", *error["loc"]], error["msg"]) for error in exc.errors()]
        raise MalformedEvent(problems) from exc


async def accept_webhook(
    session: AsyncSession, settings: Settings, body: bytes, headers: Mapping[str, str]
) -> WebhookAccepted:
    secret = settings.webhook_secret
    verify_webhook(secret.get_secret_value() if secret else None, body, headers)
    envelope = parse_envelope(body)
    row: dict[str, Any] = {
        "webhook_id": _header(headers, "webhook-id"),
        "event_id": envelope.event_id,
        "tenant_id": envelope.tenant_id,
        "event_type": envelope.event_type,
        "payload": envelope.payload,
        "occurred_at": envelope.occurred_at,
        "causation_execution_id": envelope.causation.flow_execution_id,
        "causation_depth": envelope.causation.depth,
    }
    row_id = await repository.insert_received_event(session, row | {"processed_at": utcnow()})
    if row_id is None:
        return WebhookAccepted(event_id=envelope.event_id, duplicate=True)
    event = EventRecord(
        event_id=envelope.event_id,
        tenant_id=envelope.tenant_id,
        event_type=envelope.event_type,
        payload=envelope.payload,
        occurred_at=envelope.occurred_at,
        causation_execution_id=envelope.causation.flow_execution_id,
        causation_depth=envelope.causation.depth,
        causation_root_event_id=envelope.causation.root_event_id,
    )
    await start_flows(session, event, settings.max_causation_depth)
    return WebhookAccepted(event_id=envelope.event_id)


class InProcessIntake:
    """The plugin's `EventIntake` in the platform's process: the event is taken in the platform
    write's own transaction. No delivery, job, signature, HTTP request or received-event row:
    the executions (unique per flow and event) and their jobs commit with the write or not at
    all, and an event no flow wants costs one index lookup."""

    def __init__(self, subscription_key: str, max_causation_depth: int) -> None:
        self.subscription_key = subscription_key
        self._max_depth = max_causation_depth

    async def take(self, session: AsyncSession, event: EventRecord) -> None:
        await start_flows(session, event, self._max_depth)


def envelope_schema() -> dict[str, Any]:
    """The envelope's JSON schema with its definitions inlined (for the OpenAPI document)."""
    schema = EventEnvelope.model_json_schema()
    definitions = schema.pop("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and reference.startswith("#/$defs/"):
                return inline(definitions[reference.removeprefix("#/$defs/")])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    inlined: dict[str, Any] = inline(schema)
    return inlined


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return ""
