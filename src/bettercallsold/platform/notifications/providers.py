"""Delivery providers: the seam where a real email/SMS/chat service plugs in.

The default provider delivers nothing outside: it records the message as `sent` so the
merchant sees exactly what would have gone out. A real provider implements the same Protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class OutgoingMessage:
    channel: str
    to: str | None
    subject: str | None
    body: str | None
    template: str | None


@dataclass(frozen=True)
class ProviderResult:
    status: str
    provider: str
    response: dict[str, Any] = field(default_factory=dict)


class NotificationProvider(Protocol):
    async def send(self, message: OutgoingMessage) -> ProviderResult: ...


class StoringProvider:
    """Keeps the message in the platform's own store; nothing leaves the machine."""

    name = "store"

    async def send(self, message: OutgoingMessage) -> ProviderResult:
        return ProviderResult(status="sent", provider=self.name)
