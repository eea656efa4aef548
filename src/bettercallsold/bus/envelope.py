"""The webhook body of a platform event (pure): the contract's JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bettercallsold.bus.models import PlatformEvent


def isoformat_z(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def event_envelope(event: PlatformEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "event_type": event.event_type,
        "occurred_at": isoformat_z(event.occurred_at),
        "tenant_id": str(event.tenant_id),
        "payload": event.payload,
        "causation": {
            "flow_execution_id": str(event.causation_execution_id)
            if event.causation_execution_id
            else None,
            "depth": event.causation_depth,
        },
    }
