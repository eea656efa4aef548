"""Shared aliases and small value types used across features."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

JSON = dict[str, Any]
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Causation:
    """Why a platform write happened: directly by a client (depth 0) or by an automation run."""

    flow_execution_id: uuid.UUID | None = None
    depth: int = 0
    root_event_id: str | None = None
    """The outside event at the root of the causation tree (None for a client's write, which
    is a root itself): every action of the tree counts against one budget."""

    def as_json(self) -> JSON:
        return {
            "flow_execution_id": str(self.flow_execution_id) if self.flow_execution_id else None,
            "depth": self.depth,
            "root_event_id": self.root_event_id,
        }


@dataclass(frozen=True, slots=True)
class TenantContext:
    """Who is calling: the tenant (from the credential, never the body) and the causation."""

    tenant_id: uuid.UUID
    causation: Causation = Causation()
    action_key: str | None = None
    """Set on the event receiver's calls (from its service assertion): the key of the flow
    action this write performs. The platform performs a keyed write once; a repeat gets the
    first one's resource back (`bus.outbox`), so the receiver may retry an action whose
    outcome it did not see."""
