"""The webhook body of a platform event (pure): the contract's JSON shape, and its exact bytes.

The body is serialised once per attempt by `encode_body`, and those very characters are signed
and sent: a receiver verifies the bytes it got, never a re-serialisation.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol


class EventRecord(Protocol):
    """A stored platform event: the ORM row, or the columns a delivery reads of it."""

    @property
    def id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def tenant_id(self) -> uuid.UUID: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def causation_execution_id(self) -> uuid.UUID | None: ...
    @property
    def causation_depth(self) -> int: ...
    @property
    def causation_root_event_id(self) -> str | None: ...


def isoformat_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_envelope(event: EventRecord) -> dict[str, Any]:
    """The contract's webhook body. An event caused by an automation also names its causation
    tree's root event (`root_event_id`), so a plugin elsewhere keeps counting the tree's actions
    (`BCS_MAX_ACTIONS_PER_EVENT`); a root event's causation is exactly the contract's."""
    causation: dict[str, Any] = {
        "flow_execution_id": str(event.causation_execution_id)
        if event.causation_execution_id
        else None,
        "depth": event.causation_depth,
    }
    if event.causation_root_event_id is not None:
        causation["root_event_id"] = event.causation_root_event_id
    return {
        "event_id": event.id,
        "event_type": event.event_type,
        "occurred_at": isoformat_z(event.occurred_at),
        "tenant_id": str(event.tenant_id),
        "payload": event.payload,
        "causation": causation,
    }


def encode_body(envelope: dict[str, Any]) -> str:
    """Compact JSON, UTF-8 kept as is (the HTTP body is this string encoded as UTF-8)."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
